package incident

import (
	"fmt"
	"time"
)

// ErrReplay means a request presented a nonce its source had used before:
// a replayed HMAC-signed request. It is a conflict (errors.Is(ErrReplay,
// ErrConflict) holds): nothing of the request was committed, and sending it
// again will not help.
var ErrReplay = fmt.Errorf("nonce already used: %w", ErrConflict)

// Submission is what one ingest request asks to commit, all or nothing: its
// events, its changes, and the nonce that makes it unrepeatable.
type Submission struct {
	Events  []Event
	Changes []Change
	// Nonce, when set, is used up (Tx.UseNonce) in the transaction that
	// commits the rest; a nonce used before fails the whole submission with
	// ErrReplay.
	Nonce *Nonce
}

// Len is the number of items the submission carries: the work it brings.
func (s Submission) Len() int { return len(s.Events) + len(s.Changes) }

// Nonce is a value a source may present only once: the digest of an HMAC
// signature.
type Nonce struct {
	Source string
	Value  string
	// Expires is when the nonce may be forgotten: by then the request that
	// carried it is refused for its age anyway.
	Expires time.Time
}
