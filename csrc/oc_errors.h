/*
 * The core's error codes, one line each: OC_ERROR(ENUM, "stable_code", "what it means").
 * The string is the machine-readable `code` a Lua caller sees in err.code; it
 * never changes once released. Add new codes at the end of a group.
 */
#define OC_ERROR_LIST(OC_ERROR) \
    OC_ERROR(OK,                "ok",                "no error") \
    OC_ERROR(NOMEM,             "no_memory",         "out of memory") \
    OC_ERROR(INVALID_ARGUMENT,  "invalid_argument",  "an argument is not valid") \
    /* connection properties */ \
    OC_ERROR(SYNTAX,            "syntax_error",      "the connection string is malformed") \
    OC_ERROR(UNKNOWN_PROPERTY,  "unknown_property",  "unknown connection property") \
    OC_ERROR(BAD_VALUE,         "bad_value",         "a connection property has a value it cannot take") \
    OC_ERROR(MISSING_PROPERTY,  "missing_property",  "a required connection property is missing") \
    OC_ERROR(UNSUPPORTED,       "unsupported",       "the provider does not support this") \
    /* transport */ \
    OC_ERROR(NETWORK,           "network_error",     "the server could not be reached") \
    OC_ERROR(TIMEOUT,           "timeout",           "the operation timed out") \
    OC_ERROR(TLS,               "tls_error",         "the TLS connection could not be verified") \
    OC_ERROR(TOO_LARGE,         "too_large",         "the answer is larger than the limit") \
    OC_ERROR(ORIGIN,            "origin_refused",    "the token would be sent to another origin") \
    OC_ERROR(INSECURE_URL,      "insecure_url",      "plain http is only allowed to loopback hosts") \
    /* HTTP answers of the API */ \
    OC_ERROR(HTTP,              "http_error",        "the server answered with an HTTP error") \
    OC_ERROR(BAD_REQUEST,       "bad_request",       "the server refused the request as malformed") \
    OC_ERROR(UNAUTHORIZED,      "unauthorized",      "the server rejected the credentials") \
    OC_ERROR(FORBIDDEN,         "forbidden",         "the credentials do not allow this request") \
    OC_ERROR(NOT_FOUND,         "not_found",         "the resource does not exist") \
    OC_ERROR(CONFLICT,          "conflict",          "the request conflicts with the resource's state") \
    OC_ERROR(UNPROCESSABLE,     "unprocessable",     "the server refused the request's content") \
    OC_ERROR(RATE_LIMITED,      "rate_limited",      "the server's rate limit was hit") \
    OC_ERROR(SERVER_ERROR,      "server_error",      "the server failed") \
    OC_ERROR(BAD_RESPONSE,      "bad_response",      "the server's answer could not be understood") \
    /* OAuth */ \
    OC_ERROR(OAUTH,             "oauth_error",       "the authorization server refused the request") \
    OC_ERROR(NO_TOKEN,          "no_token",          "there is no usable token") \
    OC_ERROR(STATE_MISMATCH,    "state_mismatch",    "the login callback carried the wrong state") \
    OC_ERROR(ACCESS_DENIED,     "access_denied",     "access was denied at the authorization page") \
    OC_ERROR(LOGIN,             "login_failed",      "the browser login did not complete") \
    OC_ERROR(SIGNATURE,         "bad_signature",     "a signature from the provider does not verify") \
    OC_ERROR(DISCOVERY,         "discovery_error",   "the authorization server's metadata could not be used") \
    OC_ERROR(REVOCATION,        "revocation_failed", "the server did not confirm the revocation (the tokens were removed locally)") \
    /* token storage */ \
    OC_ERROR(SETTINGS,          "settings_error",    "the OAuth settings store cannot be used") \
    OC_ERROR(LOCK,              "lock_error",        "the OAuth settings lock could not be taken") \
    OC_ERROR(IO,                "io_error",          "a local I/O operation failed")
