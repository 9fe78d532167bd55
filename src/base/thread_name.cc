// See thread_name.h.
#include "base/thread_name.h"

#include <pthread.h>

#include <cstring>

namespace webhookd {

void name_this_thread(const char* name) {
  // pthread_setname_np fails with ERANGE past 15 bytes rather than cutting.
  char cut[16];
  std::strncpy(cut, name, sizeof cut - 1);
  cut[sizeof cut - 1] = '\0';
  (void)pthread_setname_np(pthread_self(), cut);
}

}  // namespace webhookd
