// A per-backend cache of values built from one table row each (a trained
// model), used only while that row is the version the caller's snapshot
// sees.
//
// Each use first reads the row's identity (xmin, ctid, version) with a
// prepared query, under the caller's snapshot, privileges and row-level
// security, so any UPDATE or DELETE of the row, by any session, makes the
// cached value stale, and every use answers as a SELECT would. The identity
// read is reused for the rest of a statement (same snapshot, same user):
// a value used per row of a query costs a hash lookup.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "boundary.hpp"

extern "C" {
#include "executor/spi.h"
#include "storage/itemptr.h" // ItemPointerData
#include "storage/lock.h"    // InvalidLocalTransactionId
#include "utils/snapshot.h"
}

namespace agentgres::pg {

// What identifies one version of a row: a new row version (UPDATE) or a
// re-inserted row has another xmin or ctid.
struct RowIdentity {
	TransactionId xmin = InvalidTransactionId;
	ItemPointerData ctid{};
	int64 version = 0;

	bool
	operator==(const RowIdentity &other) const
	{
		return xmin == other.xmin && std::memcmp(&ctid, &other.ctid, sizeof ctid) == 0 && version == other.version;
	}
};

// What one row-identity read stays valid for: the same snapshot contents
// (the same rows are visible) read by the same user with the same
// row-security setting (the same privileges and policies). Calls within one
// statement share it; any DDL, GRANT or change in this transaction advances
// the command id. A snapshot's contents are its xmin, xmax, in-progress
// transactions and command id (a copied snapshot has no other identity: its
// address may be reused by the next statement's).
struct ReadContext {
	bool valid = false;
	LocalTransactionId lxid = InvalidLocalTransactionId;
	Oid user = InvalidOid;
	bool row_security = true;
	CommandId curcid = InvalidCommandId;
	TransactionId xmin = InvalidTransactionId;
	TransactionId xmax = InvalidTransactionId;
	bool suboverflowed = false;
	bool during_recovery = false;
	std::vector<TransactionId> xip;
	std::vector<TransactionId> subxip;
};

// The identity of the row query returns for key: query selects xmin, ctid
// and a bigint version with one parameter of type key_type, and is prepared
// once into plan (kept for the backend's life; the plan cache re-plans it
// when the table is dropped and created again, and checks the current
// user's privileges at every execution). False when no row is visible.
// PostgreSQL phase.
bool FetchRowIdentity(SPIPlanPtr &plan, const char *query, Oid key_type, Datum key, RowIdentity &row);

// The active MVCC snapshot, or nullptr. PostgreSQL phase.
Snapshot ActiveMvccSnapshot();
bool SameReadContext(const ReadContext &c, Snapshot s);
ReadContext CaptureReadContext(Snapshot s);

// Values by key (a model's name, a collection's id).
template <typename Key, typename Value> class RowCache {
public:
	// fetch_identity (PostgreSQL phase: it runs under PgCall) fills the
	// identity of the key's visible row and says whether there is one. load
	// (C++, may use PgCall) builds the value from that row. Returns nullptr
	// when no row is visible.
	std::shared_ptr<const Value>
	Get(const Key &key, const std::function<bool(RowIdentity &)> &fetch_identity,
	    const std::function<std::shared_ptr<const Value>()> &load)
	{
		const Snapshot snapshot = PgCall([] { return ActiveMvccSnapshot(); });
		auto it = entries_.find(key);
		if (it != entries_.end() && SameReadContext(it->second.checked, snapshot))
			return it->second.value;
		RowIdentity row;
		const bool found = PgCall([&] { return fetch_identity(row); });
		if (found && it != entries_.end() && it->second.row == row) {
			it->second.checked = CaptureReadContext(snapshot);
			return it->second.value;
		}
		if (it != entries_.end())
			entries_.erase(it);
		if (!found)
			return nullptr;
		// The identity and the value are read with the same snapshot.
		std::shared_ptr<const Value> value = load();
		if (value != nullptr)
			entries_[key] = Entry{row, CaptureReadContext(snapshot), value};
		return value;
	}

private:
	struct Entry {
		RowIdentity row;
		ReadContext checked; // when row was last read
		std::shared_ptr<const Value> value;
	};
	std::map<Key, Entry> entries_;
};

} // namespace agentgres::pg
