package packager_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/afero"
)

// btrfsDir mounts a small btrfs image (a filesystem that can clone) and returns a folder on it. It needs
// root, loop devices and mkfs.btrfs (scripts/deps.sh installs btrfs-progs): without mkfs.btrfs the test
// fails in CI and is skipped elsewhere; where loop mounts are refused, it is skipped.
func btrfsDir(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("mkfs.btrfs"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mkfs.btrfs is missing: apt-get install -y btrfs-progs (scripts/deps.sh does)")
		}
		t.Skip("mkfs.btrfs is missing (apt-get install -y btrfs-progs)")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a btrfs image needs root")
	}
	tmp := t.TempDir()
	img, mnt := filepath.Join(tmp, "fs.img"), filepath.Join(tmp, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err == nil {
		err = f.Truncate(256 << 20)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.btrfs", "-q", "-f", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.btrfs: %v\n%s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot loop-mount a btrfs image here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// On a filesystem that can clone, large files enter the store as copy-on-write clones (their blocks
// shared with the published file, as filefrag reports), and the store copy survives Hugo rewriting the
// published file in place — the reason planktos clones and never hard-links.
func TestPackClonesWhereTheFilesystemCan(t *testing.T) {
	mnt := btrfsDir(t)
	fsys := afero.NewOsFs()
	site := filepath.Join(mnt, "public")
	big := make([]byte, 3<<20)
	rand.Read(big)
	if err := os.Mkdir(site, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"index.html": []byte("<html><head></head><body>hi</body></html>"), "video.bin": big} {
		if err := afero.WriteFile(fsys, filepath.Join(site, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := options("https://example.org/")
	opts.Root = site
	res := pack(t, fsys, opts)
	if res.Cloned != int64(len(big)) {
		t.Fatalf("cloned %d bytes, want the large file's %d", res.Cloned, len(big))
	}
	stored := filepath.Join(site, "planktos", "files", sha(big))
	got, err := os.ReadFile(stored)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("store copy of video.bin: %v, equal %v", err, bytes.Equal(got, big))
	}
	out, err := exec.Command("filefrag", "-v", stored).CombinedOutput()
	if err != nil {
		t.Fatalf("filefrag: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "shared") {
		t.Errorf("the store file shares no extent with the published one:\n%s", out)
	}

	// Hugo rewrites a published file in place (open with O_TRUNC, write): the clone must not change
	f, err := os.OpenFile(filepath.Join(site, "video.bin"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte{'x'}, len(big)))
	f.Close()
	if got, _ := os.ReadFile(stored); sha(got) != sha(big) {
		t.Fatal("rewriting the published file changed its store copy")
	}
	if res := pack(t, fsys, opts); res.Added != 1 || res.Cloned != int64(len(big)) {
		t.Errorf("repack after the rewrite: added %d, cloned %d; want the new content cloned", res.Added, res.Cloned)
	}
	checkStoreAt(t, fsys, site)
}

// Where the filesystem cannot clone (the OS temp folder: ext4 or tmpfs here), large files are copied.
func TestPackCopiesWhereTheFilesystemCannot(t *testing.T) {
	fsys := afero.NewOsFs()
	site := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<17)
	if err := afero.WriteFile(fsys, filepath.Join(site, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := options("https://example.org/")
	opts.Root = site
	if fs := fsType(site); fs == "btrfs" || fs == "xfs" {
		t.Skipf("%s is on %s, which may clone", site, fs)
	}
	res := pack(t, fsys, opts)
	if res.Cloned != 0 || res.Added != 1 {
		t.Fatalf("added %d, cloned %d bytes; want 1 file copied", res.Added, res.Cloned)
	}
	checkStoreAt(t, fsys, site)
}

func fsType(dir string) string {
	out, _ := exec.Command("findmnt", "-no", "FSTYPE", "-T", dir).Output()
	return strings.TrimSpace(string(out))
}
