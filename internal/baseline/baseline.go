// Package baseline holds the storage-free store that benchmarks measure
// banklink against: the same handlers, JSON and JWT work, with storage
// answered from memory. A ratio of real to baseline throughput says what
// storage costs, independent of how fast the machine is.
package baseline

import (
	"context"
	"sync/atomic"

	"banklink"
)

// Store answers the calls of connect/start from memory; every other
// method goes to the embedded store.
type Store struct {
	banklink.Store
	Key  *banklink.APIKey
	next atomic.Uint64
}

// FindAPIKeyByID returns Key.
func (n *Store) FindAPIKeyByID(ctx context.Context, id string) (*banklink.APIKey, error) {
	if id != n.Key.ID {
		return nil, banklink.Errorf(banklink.ENOTFOUND, "API key not found.")
	}
	return n.Key, nil
}

// StartConnection fills in what the real store would, without storing.
func (n *Store) StartConnection(ctx context.Context, cust *banklink.Customer, conn *banklink.Connection) error {
	seq := n.next.Add(1)
	conn.CustomerID, conn.ExternalCustomerID = cust.ID, cust.ExternalID
	conn.Key = banklink.EncodeBase58([]byte{byte(seq >> 8), byte(seq)}, 11)
	return nil
}
