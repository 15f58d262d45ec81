#ifndef OC_VERSION_H
#define OC_VERSION_H
#define OC_VERSION "0.1.0"
/* Sent with every request, as a header line: libcurl formats
   CURLOPT_USERAGENT anew for each transfer, a fixed line costs less. */
#define OC_USER_AGENT_HEADER "User-Agent: oauthconnect/" OC_VERSION

#endif
