package packager

import "golang.org/x/sys/unix"

// cloneFile makes dst share src's data blocks (copy-on-write: FICLONE, as `cp --reflink` does) and
// reports whether it did. It does nothing where the filesystem cannot (ext4, tmpfs), across
// filesystems, or for files that are not OS files (a test's in-memory filesystem); the caller copies then.
// A clone is safe where a hard link is not: a later in-place rewrite of the published file (Hugo
// truncates and rewrites) leaves the store's copy untouched.
func cloneFile(dst, src any) bool {
	d, ok1 := dst.(interface{ Fd() uintptr })
	s, ok2 := src.(interface{ Fd() uintptr })
	if !ok1 || !ok2 {
		return false
	}
	return unix.IoctlFileClone(int(d.Fd()), int(s.Fd())) == nil
}
