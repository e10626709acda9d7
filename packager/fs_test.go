package packager_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/afero"
)

// faultFs wraps an Fs to make it fail the way real disks and sites do.
type faultFs struct {
	afero.Fs
	quota      atomic.Int64 // bytes that may still be written; negative means no limit
	unreadable string       // Open of this path fails with EACCES
	changing   string       // Open of this path also bumps its mtime, as if hugo rewrote it
	readOnlyIn string       // creating files under this folder fails with EACCES
	failRename string       // renaming a file onto this path fails with EIO
}

func (f *faultFs) Rename(from, to string) error {
	if to == f.failRename {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: syscall.EIO}
	}
	return f.Fs.Rename(from, to)
}

func newFaultFs(base afero.Fs) *faultFs {
	f := &faultFs{Fs: base}
	f.quota.Store(-1)
	return f
}

func (f *faultFs) Open(name string) (afero.File, error) {
	if name == f.unreadable {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	if name == f.changing {
		f.Fs.Chtimes(name, time.Now(), time.Now().Add(time.Hour))
	}
	return f.Fs.Open(name)
}

func (f *faultFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE) == 0 {
		return f.Open(name)
	}
	if f.readOnlyIn != "" && strings.HasPrefix(name, f.readOnlyIn) {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	file, err := f.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &quotaFile{File: file, quota: &f.quota}, nil
}

func (f *faultFs) Create(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

func (f *faultFs) MkdirAll(p string, perm os.FileMode) error {
	if f.readOnlyIn != "" && strings.HasPrefix(p+string(filepath.Separator), f.readOnlyIn) {
		if _, err := f.Fs.Stat(p); err != nil {
			return &os.PathError{Op: "mkdir", Path: p, Err: syscall.EACCES}
		}
	}
	return f.Fs.MkdirAll(p, perm)
}

// quotaFile fails writes with ENOSPC once its Fs's quota is used up.
type quotaFile struct {
	afero.File
	quota *atomic.Int64
}

func (q *quotaFile) Write(p []byte) (int, error) {
	if q.quota.Load() >= 0 && q.quota.Add(-int64(len(p))) < 0 {
		return 0, &os.PathError{Op: "write", Path: q.Name(), Err: syscall.ENOSPC}
	}
	return q.File.Write(p)
}
