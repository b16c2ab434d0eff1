// What the HTTP server lets its clients hold: connections (in all and per source address) and
// the bytes of request bodies being buffered. One instance is shared by the I/O threads.
//
// A connection that has not yet sent a request with a valid signature costs an attacker nothing,
// so it is the first to go: when a cap is reached, the oldest such connection that is waiting
// for its request is closed to admit the new one; only when there is none is the longest-waiting
// authenticated keep-alive connection closed; a connection whose request is being answered is
// never closed. A client that signs therefore always gets in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace cvm::api {

struct HttpLimits {
  size_t max_connections = 2048;
  size_t max_connections_per_address = 512;
  // Bytes of request bodies buffered at once, over all connections; a body of at most
  // free_body_bytes does not draw on it (so a small request is never refused), larger ones draw
  // their whole size.
  size_t body_budget_bytes = 64 << 20;
  size_t free_body_bytes = 8 << 10;
};

class HttpBudget {
  struct Conn;
  using Tier = std::set<std::pair<uint64_t, Conn*>>;

 public:
  explicit HttpBudget(HttpLimits limits) : limits_(limits) {}
  HttpBudget(const HttpBudget&) = delete;
  HttpBudget& operator=(const HttpBudget&) = delete;

  // One admitted connection; gives its place back when destroyed (or when it was evicted).
  class Connection {
   public:
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void Reading();        // waiting for (the rest of) a request: may be evicted
    void Busy();           // a whole request is in hand and being answered: is not evicted
    void Authenticated();  // a request of this connection carried a valid signature
    bool authenticated() const;

   private:
    friend class HttpBudget;
    explicit Connection(HttpBudget& budget) : budget_(budget) {}
    HttpBudget& budget_;
    Conn* conn_ = nullptr;  // owned by the budget; nullptr once evicted
  };

  // Admits a connection from `address`. At a cap it first makes room as described above;
  // `evict` is what closes this connection if it is chosen later (called without the lock held,
  // from whichever thread admits or frees). nullptr: nothing could make room, refuse it.
  std::unique_ptr<Connection> Admit(const std::string& address, std::function<void()> evict);

  // Frees one connection's place by the same order (accept failed for lack of descriptors).
  // False when there was nothing to evict.
  bool EvictOne();

  // Claims `bytes` of the body budget; false (nothing claimed) when it cannot hold them. The
  // parser claims only for bodies over limits().free_body_bytes.
  bool ClaimBody(size_t bytes);
  void ReleaseBody(size_t bytes);

  // True once after the connections or the claimed body bytes fell to half of a peak large
  // enough to have grown the heap: the caller returns freed memory to the system.
  bool TakeShrink();

  size_t connections() const;
  size_t body_bytes() const;
  const HttpLimits& limits() const { return limits_; }

 private:
  enum class Phase { kFresh, kWaiting, kBusy };
  struct Address {
    size_t count = 0;
    Tier fresh, waiting;
  };
  struct Conn {
    Connection* owner;
    const std::string* address;  // the key of `at`
    Address* at;                 // stable: unordered_map nodes do not move
    std::function<void()> evict;
    Phase phase = Phase::kFresh;
    bool authenticated = false;
    uint64_t admitted = 0;  // orders the fresh tier
    uint64_t waiting = 0;   // orders the waiting tier
  };

  // All with mu_ held.
  void List(Conn* c);
  void Unlist(Conn* c);
  // Forgets the oldest connection of the first non-empty tier (of `address` only, if given)
  // and returns how to close it; empty if every connection is busy.
  std::function<void()> TakeVictim(const std::string* address);
  void Remove(Conn* c);

  const HttpLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Address> addresses_;
  Tier fresh_, waiting_;
  size_t connections_ = 0;
  size_t body_bytes_ = 0;
  size_t peak_connections_ = 0, peak_body_bytes_ = 0;
  uint64_t next_order_ = 0;
};

}  // namespace cvm::api
