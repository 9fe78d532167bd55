// The registry and every family, resolved once. The figures the server and
// the process keep themselves (connections, busy workers, /proc/self) are
// read when a scrape is answered, not mirrored into gauges on every change.
// The request-duration histogram is ours, lock-free, and serialized by
// prometheus-cpp as one of its own: prometheus::Histogram::Observe takes a
// mutex on every call, and with 16 workers on 2 cores a worker preempted
// while holding it would stall every other request. The request path takes
// no lock at all.
#include "edge/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <sstream>
#include <vector>

#include "base/mutex.h"
#include "edge/process_metrics.h"

namespace webhookd {
namespace {

constexpr const char* kMethods[] = {"GET", "HEAD", "POST", "OTHER"};
constexpr size_t kOther = 3;
constexpr int kMaxStatus = 600;

size_t method_index(std::string_view method) {
  if (method == "GET") return 0;
  if (method == "HEAD") return 1;
  if (method == "POST") return 2;
  return kOther;
}

// The answers webhookd gives by method, resolved at start so that they read 0
// before the first one (rate() needs the series to exist); any other status
// is resolved the first time it is given.
const std::vector<int>& usual_statuses(size_t method) {
  static const std::vector<int> kRead = {200, 304, 401, 404, 500, 503};
  static const std::vector<int> kWrite = {200, 400, 401, 403, 404, 412, 413, 415, 500, 503};
  static const std::vector<int> kOtherMethods = {401, 404, 405};
  return method == 2 ? kWrite : method == kOther ? kOtherMethods : kRead;
}

// 50 µs to 1 s: a GET from the parse cache takes tens of microseconds, a
// write on a GlusterFS volume hundreds of milliseconds. In nanoseconds, so
// that a request's bucket is found without floating point.
constexpr std::array<int64_t, 14> kRequestBucketsNs = {50'000,     100'000,     250'000,     500'000,   1'000'000,
                                                       2'500'000,  5'000'000,   10'000'000,  25'000'000, 50'000'000,
                                                       100'000'000, 250'000'000, 500'000'000, 1'000'000'000};

// One method's request durations: a count per bucket (the last: over 1 s)
// and the sum, each an atomic add; made cumulative when a scrape reads them.
struct DurationHistogram {
  std::array<std::atomic<uint64_t>, kRequestBucketsNs.size() + 1> counts{};
  std::atomic<uint64_t> sum_ns{0};

  void observe(int64_t ns) {
    if (ns < 0) ns = 0;
    const size_t bucket = static_cast<size_t>(
        std::lower_bound(kRequestBucketsNs.begin(), kRequestBucketsNs.end(), ns) - kRequestBucketsNs.begin());
    counts[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_ns.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
  }

  prometheus::ClientMetric collect(const char* method) const {
    prometheus::ClientMetric metric;
    metric.label.push_back({"method", method});
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i].load(std::memory_order_relaxed);
      prometheus::ClientMetric::Bucket b;
      b.cumulative_count = cumulative;
      b.upper_bound = i < kRequestBucketsNs.size() ? static_cast<double>(kRequestBucketsNs[i]) / 1e9
                                                   : std::numeric_limits<double>::infinity();
      metric.histogram.bucket.push_back(b);
    }
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = static_cast<double>(sum_ns.load(std::memory_order_relaxed)) / 1e9;
    return metric;
  }
};

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

double now_since_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

prometheus::MetricFamily one_value(const char* name, const char* help, prometheus::MetricType type, double value) {
  prometheus::MetricFamily family{name, help, type, {}};
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

}  // namespace

struct Metrics::Impl {
  prometheus::Registry registry;

  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("webhookd_requests_total")
          .Help("Answers webhookd gave, by request method (GET, HEAD, POST, OTHER) and HTTP status; "
                "scrapes of /metrics are not counted")
          .Register(registry);
  // By method, then by status; nullptr until resolved, then fixed for good.
  std::array<std::array<std::atomic<prometheus::Counter*>, kMaxStatus>, 4> by_status{};
  std::array<DurationHistogram, 4> durations;  // by method
  Mutex resolve_mu;  // only the first time a (method, status) is seen

  prometheus::Family<prometheus::Counter>& writes =
      prometheus::BuildCounter()
          .Name("webhookd_state_writes_total")
          .Help("State writes tried (one group commit with a change to write: lock, write, fsync, rename, "
                "directory fsync), by result; a group with nothing to write is none")
          .Register(registry);
  prometheus::Counter& writes_ok = writes.Add({{"result", "ok"}});
  prometheus::Counter& writes_error = writes.Add({{"result", "error"}});
  prometheus::Histogram& write_duration =
      prometheus::BuildHistogram()
          .Name("webhookd_state_write_duration_seconds")
          .Help("One group commit, from taking the service's lock to the directory fsync")
          .Register(registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                           0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  prometheus::Histogram& group_sizes =
      prometheus::BuildHistogram()
          .Name("webhookd_group_commit_updates")
          .Help("Updates carried by one state write (those queued behind the write before it whose change "
                "was applied)")
          .Register(registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128});

  prometheus::Family<prometheus::Counter>& lookups =
      prometheus::BuildCounter()
          .Name("webhookd_parse_cache_lookups_total")
          .Help("State files read whose state webhookd already held, proven the same by their bytes or their "
                "SHA-256 (hit), or had to check or parse (miss)")
          .Register(registry);
  prometheus::Counter& cache_hits = lookups.Add({{"result", "hit"}});
  prometheus::Counter& cache_misses = lookups.Add({{"result", "miss"}});

  prometheus::Family<prometheus::Counter>& state_errors =
      prometheus::BuildCounter()
          .Name("webhookd_state_errors_total")
          .Help("State files found invalid (kind=invalid) and I/O errors reading or writing state (kind=io), "
                "met while serving")
          .Register(registry);
  prometheus::Counter& invalid_files = state_errors.Add({{"kind", "invalid"}});
  prometheus::Counter& io_errors = state_errors.Add({{"kind", "io"}});

  prometheus::Family<prometheus::Counter>& reloads =
      prometheus::BuildCounter()
          .Name("webhookd_config_reloads_total")
          .Help("Config reloads (SIGHUP), by result: ok, or refused (a bad config; the old one is kept)")
          .Register(registry);
  prometheus::Counter& reloads_ok = reloads.Add({{"result", "ok"}});
  prometheus::Counter& reloads_refused = reloads.Add({{"result", "refused"}});
  prometheus::Gauge& last_reload =
      prometheus::BuildGauge()
          .Name("webhookd_config_last_reload_success_timestamp_seconds")
          .Help("When the config in use was loaded (at start or by the last good reload), seconds since the epoch")
          .Register(registry)
          .Add({});

  prometheus::Family<prometheus::Gauge>& build_info =
      prometheus::BuildGauge()
          .Name("webhookd_build_info")
          .Help("Always 1; the version label says which webhookd answers")
          .Register(registry);

  prometheus::Counter& counter_for(size_t method, int status) EXCLUDES(resolve_mu) {
    if (status >= 0 && status < kMaxStatus) {
      std::atomic<prometheus::Counter*>& slot = by_status[method][static_cast<size_t>(status)];
      if (prometheus::Counter* c = slot.load(std::memory_order_acquire)) return *c;
      MutexLock lock(&resolve_mu);
      prometheus::Counter* c = slot.load(std::memory_order_relaxed);
      if (!c) {
        c = &requests.Add({{"method", kMethods[method]}, {"status", std::to_string(status)}});
        slot.store(c, std::memory_order_release);
      }
      return *c;
    }
    MutexLock lock(&resolve_mu);  // never given: statuses are ours, 100 to 599
    return requests.Add({{"method", kMethods[method]}, {"status", std::to_string(status)}});
  }
};

Metrics::Metrics(std::string_view version) : impl_(std::make_unique<Impl>()) {
  for (size_t m = 0; m < 4; ++m) {
    for (int status : usual_statuses(m)) (void)impl_->counter_for(m, status);
  }
  impl_->build_info.Add({{"version", std::string(version)}}).Set(1);
  config_loaded();
}

Metrics::~Metrics() = default;

void Metrics::count_request(std::string_view method, int status, std::chrono::nanoseconds took) {
  const size_t m = method_index(method);
  // The observation before the count, and a scrape reads the counts first:
  // a scrape that sees a request counted sees its duration too.
  impl_->durations[m].observe(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
  impl_->counter_for(m, status).Increment();
}

void Metrics::config_reload(bool ok) {
  (ok ? impl_->reloads_ok : impl_->reloads_refused).Increment();
  if (ok) config_loaded();
}

void Metrics::config_loaded() { impl_->last_reload.Set(now_since_epoch()); }

void Metrics::parse_cache_lookup(bool hit) { (hit ? impl_->cache_hits : impl_->cache_misses).Increment(); }

void Metrics::state_error(StateError kind) {
  (kind == StateError::kInvalid ? impl_->invalid_files : impl_->io_errors).Increment();
}

void Metrics::group_commit(bool ok, size_t updates, std::chrono::nanoseconds took) {
  (ok ? impl_->writes_ok : impl_->writes_error).Increment();
  impl_->write_duration.Observe(seconds(took));
  impl_->group_sizes.Observe(static_cast<double>(updates));
}

std::string Metrics::exposition(const ServerStats& server) const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families = impl_->registry.Collect();
  prometheus::MetricFamily durations{"webhookd_request_duration_seconds",
                                     "Time from a whole request to the end of its answer, by request method",
                                     MetricType::Histogram,
                                     {}};
  for (size_t m = 0; m < 4; ++m) durations.metric.push_back(impl_->durations[m].collect(kMethods[m]));
  families.push_back(std::move(durations));
  families.push_back(one_value("webhookd_connections_open", "FastCGI connections open (kept ones included)",
                               MetricType::Gauge, static_cast<double>(server.connections_open)));
  families.push_back(one_value("webhookd_workers_busy", "Worker threads serving a connection now", MetricType::Gauge,
                               static_cast<double>(server.workers_busy)));
  families.push_back(one_value("webhookd_connections_refused_total",
                               "Connections closed at once because --max-connections were open",
                               MetricType::Counter, static_cast<double>(server.connections_refused)));
  families.push_back(one_value("webhookd_requests_timed_out_total",
                               "Requests dropped because they were not whole within --request-timeout",
                               MetricType::Counter, static_cast<double>(server.requests_timed_out)));
  families.push_back(one_value("webhookd_log_lines_dropped_total",
                               "Request log lines dropped because stderr (journald) took them too slowly",
                               MetricType::Counter, static_cast<double>(server.log_lines_dropped)));
  ProcessSample p;
  if (sample_process(&p)) {
    families.push_back(one_value("process_cpu_seconds_total", "Total user and system CPU time spent in seconds",
                                 MetricType::Counter, p.cpu_seconds));
    families.push_back(one_value("process_resident_memory_bytes", "Resident memory size in bytes", MetricType::Gauge,
                                 p.resident_bytes));
    families.push_back(one_value("process_open_fds", "Number of open file descriptors", MetricType::Gauge, p.open_fds));
    families.push_back(
        one_value("process_max_fds", "Maximum number of open file descriptors", MetricType::Gauge, p.max_fds));
    families.push_back(one_value("process_start_time_seconds", "Start time of the process since unix epoch in seconds",
                                 MetricType::Gauge, p.start_time_seconds));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace webhookd
