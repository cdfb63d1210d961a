package kernel

// Version counts the changes stored of one aggregate: 0 when it is
// created, one more with every change saved. A writer that names the
// version it read makes sure nobody changed the aggregate since.
type Version int64

// ErrVersionMismatch is a conditional write refused because the stored
// version is not one the caller expected.
var ErrVersionMismatch = PreconditionFailed("precondition_failed", "the resource has changed since the version the request names")

// ExpectedVersion is a conditional write's condition on the stored
// version. The zero value expects nothing: the write applies to whatever
// version is stored.
type ExpectedVersion struct {
	set      bool
	versions []Version
}

// AnyVersion expects nothing (an unconditional write, or "any version").
func AnyVersion() ExpectedVersion { return ExpectedVersion{} }

// ExpectVersion expects one of versions; with none it is met by no
// stored version at all.
func ExpectVersion(versions ...Version) ExpectedVersion {
	return ExpectedVersion{set: true, versions: append([]Version(nil), versions...)}
}

// IsAny reports whether e expects nothing.
func (e ExpectedVersion) IsAny() bool { return !e.set }

// Check is nil when stored meets e and ErrVersionMismatch otherwise. It
// must run on the stored version inside the write that depends on it.
func (e ExpectedVersion) Check(stored Version) error {
	if !e.set {
		return nil
	}
	for _, v := range e.versions {
		if v == stored {
			return nil
		}
	}
	return ErrVersionMismatch
}
