//go:build !linux

package packager

// cloneFile is copy-on-write cloning, available on Linux only; elsewhere the store is filled by copying.
func cloneFile(dst, src any) bool { return false }
