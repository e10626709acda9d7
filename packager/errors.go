package packager

import (
	"errors"
	"fmt"
	"syscall"
)

// explain adds the fix to errors from the filesystem whose cause a user can act on.
func explain(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w (free some disk space, then run planktos again; the previous package is intact)", err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w (the publish directory is on a read-only filesystem; package a writable copy)", err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w (check the permissions of the publish directory, or run planktos as its owner)", err)
	}
	return err
}
