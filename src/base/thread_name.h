// Names the calling thread, as top -H, ps -L, perf and gdb show it
// (/proc/PID/task/TID/comm): an operator sees which of webhookd's threads
// spends the CPU, the workers, the housekeeper or the request log.
#pragma once

namespace webhookd {

// At most 15 bytes are kept (the kernel's limit); a longer name is cut.
// Best effort: a thread keeps its name ("webhookd") if the kernel refuses.
void name_this_thread(const char* name);

}  // namespace webhookd
