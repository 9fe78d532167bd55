/* The ceiling of nginx + FastCGI for `make bench`: the least a libfcgi
 * responder can do. N threads, each FCGX_Accept_r -> a fixed JSON answer
 * (the size of webhookd's) -> FCGX_Finish_r. No auth, no file, no parse.
 * usage: fcgi_minimal SOCKET_PATH WORKERS */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int listen_fd;
static const char kAnswer[] =
    "Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    "Twilio-Request-Id: RQ00000000000000000000000000000000\r\n\r\n"
    "{\"account_sid\":\"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"chat_service_sid\":\"ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
    "\"pre_webhook_url\":\"https://www.example.com/pre\",\"post_webhook_url\":\"https://www.example.com/post\","
    "\"filters\":[\"onMessageRemove\",\"onParticipantAdd\"],\"method\":\"POST\","
    "\"url\":\"http://127.0.0.1/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks\"}";

static void* worker(void* unused) {
  (void)unused;
  FCGX_Request req;
  FCGX_InitRequest(&req, listen_fd, 0);
  char sink[4096];
  while (FCGX_Accept_r(&req) >= 0) {
    /* Read stdin to its end record (usually already in libfcgi's buffer): on
     * a kept connection an unread end record would be taken for the start of
     * the next request, and the connection dropped. */
    while (FCGX_GetStr(sink, sizeof sink, req.in) > 0) {
    }
    FCGX_PutStr(kAnswer, sizeof kAnswer - 1, req.out);
    FCGX_Finish_r(&req);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  unlink(argv[1]);
  FCGX_Init();
  listen_fd = FCGX_OpenSocket(argv[1], 1024);
  if (listen_fd < 0) return 1;
  int workers = atoi(argv[2]);
  pthread_t threads[256];
  for (int i = 0; i < workers && i < 256; ++i) pthread_create(&threads[i], NULL, worker, NULL);
  for (int i = 0; i < workers && i < 256; ++i) pthread_join(threads[i], NULL);
  return 0;
}
