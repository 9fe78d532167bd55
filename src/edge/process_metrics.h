// The standard process_* figures of a Prometheus target, read from
// /proc/self at scrape time. prometheus-cpp's core has no process collector
// (only its pull library's web server comes near one), so these few lines are
// ours. Only /proc/self is read: the unit's ProcSubset=pid hides /proc/stat,
// so the boot time comes from the clocks instead (CLOCK_REALTIME minus
// CLOCK_BOOTTIME).
#pragma once

#include <string_view>

namespace webhookd {

struct ProcessSample {
  double cpu_seconds = 0;          // process_cpu_seconds_total: user + system
  double resident_bytes = 0;       // process_resident_memory_bytes
  double open_fds = 0;             // process_open_fds
  double max_fds = 0;              // process_max_fds: the soft RLIMIT_NOFILE
  double start_time_seconds = 0;   // process_start_time_seconds: since the epoch
};

// The fields of /proc/self/stat that the sample needs (cpu, resident, start
// time), given the clock tick, the page size and the boot time in seconds
// since the epoch. The command name may hold spaces and parentheses: fields
// are counted from its last ')'. false when the text is not such a line.
bool parse_proc_stat(std::string_view stat, double ticks_per_second, double page_size, double boot_time,
                     ProcessSample* out);

// This process, now. false when /proc/self cannot be read (the sample is
// then left out of the scrape, not made up).
bool sample_process(ProcessSample* out);

}  // namespace webhookd
