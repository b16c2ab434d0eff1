#include "api/http_budget.h"

namespace cvm::api {

namespace {

// Below these peaks the heap has not grown enough to be worth trimming.
constexpr size_t kBurstConnections = 64;
constexpr size_t kBurstBodyBytes = 4 << 20;

}  // namespace

void HttpBudget::List(Conn* c) {
  Address& a = *c->at;
  if (c->phase == Phase::kFresh) {
    a.fresh.emplace(c->admitted, c);
    fresh_.emplace(c->admitted, c);
  } else if (c->phase == Phase::kWaiting) {
    a.waiting.emplace(c->waiting, c);
    waiting_.emplace(c->waiting, c);
  }
}

void HttpBudget::Unlist(Conn* c) {
  Address& a = *c->at;
  if (c->phase == Phase::kFresh) {
    a.fresh.erase({c->admitted, c});
    fresh_.erase({c->admitted, c});
  } else if (c->phase == Phase::kWaiting) {
    a.waiting.erase({c->waiting, c});
    waiting_.erase({c->waiting, c});
  }
}

void HttpBudget::Remove(Conn* c) {
  Unlist(c);
  if (--c->at->count == 0) addresses_.erase(addresses_.find(*c->address));
  --connections_;
  if (c->owner) c->owner->conn_ = nullptr;
  delete c;
}

std::function<void()> HttpBudget::TakeVictim(const std::string* address) {
  Tier* fresh = &fresh_;
  Tier* waiting = &waiting_;
  if (address) {
    auto it = addresses_.find(*address);
    if (it == addresses_.end()) return {};
    fresh = &it->second.fresh;
    waiting = &it->second.waiting;
  }
  Tier* tier = !fresh->empty() ? fresh : waiting;
  if (tier->empty()) return {};
  Conn* victim = tier->begin()->second;
  std::function<void()> evict = std::move(victim->evict);
  Remove(victim);
  return evict;
}

std::unique_ptr<HttpBudget::Connection> HttpBudget::Admit(const std::string& address,
                                                          std::function<void()> evict) {
  std::function<void()> victim;
  std::unique_ptr<Connection> admitted;
  {
    std::lock_guard lock(mu_);
    // Evicting within the address also frees a place in all.
    auto at = addresses_.find(address);
    if (at != addresses_.end() && at->second.count >= limits_.max_connections_per_address) {
      victim = TakeVictim(&address);
      if (!victim) return nullptr;
    } else if (connections_ >= limits_.max_connections) {
      victim = TakeVictim(nullptr);
      if (!victim) return nullptr;
    }
    admitted.reset(new Connection(*this));
    auto entry = addresses_.try_emplace(address).first;
    auto* c = new Conn{admitted.get(), &entry->first, &entry->second, std::move(evict)};
    c->admitted = next_order_++;
    admitted->conn_ = c;
    ++entry->second.count;
    List(c);
    if (++connections_ > peak_connections_) peak_connections_ = connections_;
  }
  if (victim) victim();
  return admitted;
}

bool HttpBudget::EvictOne() {
  std::function<void()> victim;
  {
    std::lock_guard lock(mu_);
    victim = TakeVictim(nullptr);
  }
  if (!victim) return false;
  victim();
  return true;
}

HttpBudget::Connection::~Connection() {
  std::lock_guard lock(budget_.mu_);
  if (conn_) budget_.Remove(conn_);
}

void HttpBudget::Connection::Reading() {
  std::lock_guard lock(budget_.mu_);
  if (!conn_ || conn_->phase != Phase::kBusy) return;
  conn_->phase = conn_->authenticated ? Phase::kWaiting : Phase::kFresh;
  conn_->waiting = budget_.next_order_++;
  budget_.List(conn_);
}

void HttpBudget::Connection::Busy() {
  std::lock_guard lock(budget_.mu_);
  if (!conn_ || conn_->phase == Phase::kBusy) return;
  budget_.Unlist(conn_);
  conn_->phase = Phase::kBusy;
}

void HttpBudget::Connection::Authenticated() {
  std::lock_guard lock(budget_.mu_);
  if (conn_) conn_->authenticated = true;
}

bool HttpBudget::ClaimBody(size_t bytes) {
  std::lock_guard lock(mu_);
  if (bytes > limits_.body_budget_bytes - body_bytes_) return false;
  body_bytes_ += bytes;
  if (body_bytes_ > peak_body_bytes_) peak_body_bytes_ = body_bytes_;
  return true;
}

void HttpBudget::ReleaseBody(size_t bytes) {
  std::lock_guard lock(mu_);
  body_bytes_ -= bytes;
}

bool HttpBudget::TakeShrink() {
  std::lock_guard lock(mu_);
  bool shrink = (peak_connections_ >= kBurstConnections && connections_ <= peak_connections_ / 2) ||
                (peak_body_bytes_ >= kBurstBodyBytes && body_bytes_ <= peak_body_bytes_ / 2);
  if (shrink) {
    peak_connections_ = connections_;
    peak_body_bytes_ = body_bytes_;
  }
  return shrink;
}

size_t HttpBudget::connections() const {
  std::lock_guard lock(mu_);
  return connections_;
}

size_t HttpBudget::body_bytes() const {
  std::lock_guard lock(mu_);
  return body_bytes_;
}

}  // namespace cvm::api
