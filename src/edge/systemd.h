// The glue to systemd (and spawn-fcgi): where the listening socket comes
// from, and the sd_notify readiness protocol. Only webhookd uses it.
#pragma once

namespace webhookd {

// systemd socket activation hands the socket over as fd 3 (LISTEN_FDS, with
// LISTEN_PID naming us); StandardInput=socket and spawn-fcgi hand it over as
// fd 0. Clears the LISTEN_* variables so no child inherits them.
int inherited_listener();

// One sd_notify datagram ("READY=1", "RELOADING=1", "STOPPING=1") to
// $NOTIFY_SOCKET; a no-op when not started by systemd with Type=notify.
void notify_systemd(const char* state);

}  // namespace webhookd
