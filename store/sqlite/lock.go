package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFileName is the lock file in the storage directory: a daemon holds an
// exclusive lock on it for as long as its store is open.
const LockFileName = "lock"

// ErrLocked means another process has the storage directory open for
// writing. Two writers on one SQLite file would each believe they own every
// correlation key, and their caches would go stale behind each other's
// backs; the second refuses to start instead.
var ErrLocked = errors.New("storage path is in use")

// lockedError is ErrLocked with the directory, its lock file, and the
// process ID the holder wrote into it (0 if unknown).
type lockedError struct {
	dir, file string
	pid       int
}

func (e *lockedError) Error() string {
	holder := ""
	if e.pid > 0 {
		holder = ", held by pid " + strconv.Itoa(e.pid)
	}
	return fmt.Sprintf("storage path %s is in use by another alertbridge (lock file %s%s)", e.dir, e.file, holder)
}

func (e *lockedError) Is(target error) bool { return target == ErrLocked }

// dirLock is the exclusive lock on a storage directory.
type dirLock struct{ f *os.File }

// lockDir takes the exclusive lock on dir's lock file without waiting, and
// writes the process ID into the file for whoever finds it locked. It
// creates nothing but the lock file.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if held {
		e := &lockedError{dir: dir, file: path}
		if b, err := os.ReadFile(path); err == nil {
			e.pid, _ = strconv.Atoi(strings.TrimSpace(string(b))) // only a hint
		}
		f.Close()
		return nil, e
	}
	// The PID is only a hint for the message above: the lock is what counts,
	// so a failure to write it is not an error.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// release gives the lock up. The file stays: removing it would let a
// process that opened it just before lock a file no one else can see.
func (l *dirLock) release() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
