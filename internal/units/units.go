// Package units formats quantities for people.
package units

import "fmt"

// Bytes formats a byte count for people: 1.5 MB (decimal units, as file managers show).
type Bytes int64

func (b Bytes) String() string {
	const unit = 1000
	if b < unit {
		return fmt.Sprintf("%d B", int64(b))
	}
	div, exp := int64(unit), 0
	for n := int64(b) / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(b)/float64(div), "kMGTPE"[exp])
}
