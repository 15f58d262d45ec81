-- The guards behind the README's promises, each broken one way, and the
-- tests that must notice (tests/mutation/run). One entry per mutation:
--   name     what is broken, as the runner prints it
--   guards   the promise, in the README's words or near them
--   file     the source file; find: its exact text (it must occur exactly
--            once: when the code moves, the runner says BROKEN and the
--            entry is re-anchored on the new code, never dropped);
--            replace: what it becomes
--   tests    tried in order until one fails: "ctest:REGEX", "spec:FILE",
--            "spec:FILE#FILTER" (a busted --filter), "cmd:COMMAND" (run from
--            the tree's root with LUA_PATH/LUA_CPATH set)
-- Anchors in csrc/oc_call.c and csrc/oc_store*.c sit on the guard's own
-- expression (a call, a condition), so they can be found again after the
-- request engine and the store interface are rewritten.
return {
  {
    name = "file-lock-noop",
    guards = "refresh runs under a flock on <file>.lock (single flight across processes)",
    file = "csrc/oc_store_file.c",
    find = [[while (flock(fd, LOCK_EX | LOCK_NB) != 0) {]],
    replace = [[while (0) {]],
    tests = { "ctest:^store\\.lock_admits_one_process_at_a_time_across_a_barrier$",
      "spec:spec/13-reliability_spec.lua#processes that meet an expired token at once send one refresh" },
  },
  {
    name = "file-written-in-place",
    guards = "the settings file is written to a temporary file, fsynced and renamed over the old one",
    file = "csrc/oc_store_file.c",
    find = [[fd = mkostemp(tmp, O_CLOEXEC); /* created 0600 */]],
    -- the rename that follows renames the file onto itself: a no-op
    replace = [[fd = open(strcpy(tmp, f->path), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);]],
    -- (the kill trials meet a half-written file only by chance: the write
    -- is a few microseconds of a 3 ms refresh cycle)
    tests = { "ctest:^store\\.readers_see_whole_sets_while_a_writer_replaces_them$" },
  },
  {
    name = "file-never-replaced",
    guards = "a renewed set replaces the stored one (the first save creates the file, no later one replaces it)",
    file = "csrc/oc_store_file.c",
    find = [[if (rename(tmp, f->path) == 0)]],
    replace = [[if ((access(f->path, F_OK) == 0 ? unlink(tmp) : rename(tmp, f->path)) == 0)]],
    tests = { "ctest:^store\\.readers_see_whole_sets_while_a_writer_replaces_them$",
      "spec:spec/05-refresh_spec.lua#persists the rotated refresh token",
      "cmd:lua5.4 tests/reliability/kill_trials.lua 25 200" },
  },
  {
    name = "file-save-does-nothing",
    guards = "tokens are kept in OAuthSettingsLocation",
    file = "csrc/oc_store_file.c",
    find = [[    /* expect needs no check here: every writer holds the flock while it]],
    replace = [[    return OC_OK;
    /* expect needs no check here: every writer holds the flock while it]],
    tests = { "ctest:^store\\.file_round_trip_private_and_nested_dirs$",
      "cmd:lua5.4 tests/reliability/kill_trials.lua 25 200" },
  },
  {
    name = "file-private-mode-unchecked",
    guards = "a settings file that group or others can access is refused, as ssh does",
    file = "csrc/oc_store_file.c",
    find = [[    if (st.st_mode & 077)]],
    replace = [[    if (0)]],
    tests = { "ctest:^store\\.refuses_symlink_and_loose_permissions$",
      "spec:spec/14-hostile_input_spec.lua" },
  },
  {
    name = "reread-after-lock-skipped",
    guards = "after taking the lock the store is read again; another process's refresh is used and nothing is sent",
    file = "csrc/oc_call.c",
    find = [[if (call->found && call->base.access_token &&]],
    replace = [[if (0 && call->found && call->base.access_token &&]],
    tests = { "spec:spec/05-refresh_spec.lua#adopts another client's refresh",
      "spec:spec/13-reliability_spec.lua#processes that meet an expired token at once send one refresh" },
  },
  {
    name = "rotated-token-used-before-saved",
    guards = "a rotated refresh token is written to the store before the new access token is used",
    file = "csrc/oc_call.c",
    -- a refresh's save "fails": the set is used at once and saved only
    -- before the next request (a code exchange still saves)
    find = [[    rc = oc_client_save(c, &call->fresh,
                        call->kind != KIND_EXCHANGE && call->found ? call->base.refresh_token : NULL,
                        &call->err);]],
    replace = [[    rc = call->kind != KIND_EXCHANGE ? oc_fail(&call->err, OC_E_SETTINGS, "not saved yet")
                                      : oc_client_save(c, &call->fresh, NULL, &call->err);]],
    tests = { "ctest:^call\\.rotated_token_is_stored_before_it_is_used$",
      "spec:spec/05-refresh_spec.lua#holds the rotated refresh token in the settings file while the new access token is in use" },
  },
  {
    name = "401-generation-check",
    guards = "a 401 to a token another call already renewed is resent, not refreshed again",
    file = "csrc/oc_call.c",
    find = [[if (c->generation != call->sent_generation) {]],
    replace = [[if (0) {]],
    tests = { "ctest:^call\\.a_401_after_another_calls_refresh_resends_without_refreshing$" },
  },
  {
    name = "redis-compare-and-set",
    guards = "the new set is written to Redis only if the stored refresh token is still the one used",
    file = "csrc/oc_store_redis.c",
    find = [[doc.refresh_token ~= ARGV[2] then return 0 end]],
    replace = [[false then return 0 end]],
    tests = { "ctest:^redis\\.round_trip_and_compare_and_set$" },
  },
  {
    name = "redis-lock-not-exclusive",
    guards = "the Redis lock is SET NX PX: one holder across machines",
    file = "csrc/oc_store_redis.c",
    find = [[{ "SET", r->lock_key, r->lock_value, "NX", "PX", lease };]],
    replace = [[{ "SET", r->lock_key, r->lock_value, "XX", "PX", lease };]],
    tests = { "ctest:^redis\\.lock_is_exclusive_and_released_by_its_owner$" },
  },
  {
    name = "log-not-redacted",
    guards = "every secret is redacted from every log line",
    file = "csrc/oc_log.c",
    find = [[oc_redact_literals(&clean, raw, (size_t)n, &log->secrets);]],
    replace = [[oc_buf_append(&clean, raw, (size_t)n);]],
    tests = { "ctest:^log\\.lines_lose_every_registered_secret$",
      "spec:spec/14-hostile_input_spec.lua#secrets a server or libcurl quotes back" },
  },
  {
    name = "log-secret-headers-shown",
    guards = "secret headers (Authorization, cookies, API keys) are redacted from the log by name",
    file = "csrc/oc_redact.c",
    find = [[if (colon && oc_header_is_secret(line, (size_t)(colon - line))) {]],
    replace = [[if (0) {]],
    tests = { "ctest:^log\\.", "spec:spec/10-network_spec.lua" },
  },
  {
    name = "log-body-fields-shown",
    guards = "secret fields of a body (access_token, refresh_token, client_secret...) are redacted from the log",
    file = "csrc/oc_redact.c",
    find = [[        redact_json(j, 0);]],
    replace = [[        (void)redact_json;]],
    tests = { "ctest:^log\\.", "spec:spec/10-network_spec.lua" },
  },
  {
    name = "errors-not-redacted",
    guards = "error messages never hold a secret, even one a server quoted back",
    file = "csrc/oc_client_secrets.c",
    find = [[redact(c, extra, err->message, strlen(err->message), &clean);]],
    replace = [[oc_buf_puts(&clean, err->message);]],
    tests = { "spec:spec/14-hostile_input_spec.lua#secrets a server or libcurl quotes back" },
  },
  {
    name = "login-state-unchecked",
    guards = "the login callback's state is checked (in constant time)",
    file = "csrc/oc_oauth.c",
    find = [[if (state && rule != OC_STATE_UNCHECKED && !oc_secure_streq(state, expected_state))]],
    replace = [[if (0)]],
    tests = { "ctest:^oauth\\.callback_checks_state_then_error_then_code$",
      "ctest:^listener\\.wrong_state_is_refused_and_the_login_goes_on$",
      "spec:spec/03-desktop_login_spec.lua" },
  },
  {
    name = "origin-scheme-ignored",
    guards = "the token goes only to the API's origin: scheme",
    file = "csrc/oc_url.c",
    find = [[strcmp(ua.scheme, ub.scheme) == 0 &&]],
    replace = [[1 &&]],
    tests = { "ctest:^url\\.same_origin_", "spec:spec/07-api_spec.lua#never sends the token to another" },
  },
  {
    name = "origin-host-ignored",
    guards = "the token goes only to the API's origin: host",
    file = "csrc/oc_url.c",
    find = [[strcmp(ua.host, ub.host) == 0 &&]],
    replace = [[1 &&]],
    tests = { "ctest:^url\\.same_origin_", "spec:spec/07-api_spec.lua#never sends the token to another" },
  },
  {
    name = "origin-port-ignored",
    guards = "the token goes only to the API's origin: port",
    file = "csrc/oc_url.c",
    find = [[&& ua.port == ub.port;]],
    replace = [[&& 1;]],
    tests = { "ctest:^url\\.same_origin_", "spec:spec/07-api_spec.lua#never sends the token to another" },
  },
  {
    name = "plain-http-anywhere",
    guards = "plain http is only accepted to loopback hosts",
    file = "csrc/oc_url.c",
    find = [[if (strcmp(u.scheme, "http") == 0 && !oc_host_is_loopback(u.host)) {]],
    replace = [[if (0) {]],
    tests = { "ctest:^url\\.plain_http_only_to_loopback_hosts$" },
  },
  {
    name = "pkce-verifier-unchecked",
    guards = "PKCEVerifier is checked against RFC 7636 4.1 before any exchange",
    file = "csrc/oc_config.c",
    find = [[if (p == OC_P_PKCE_VERIFIER && vlen) {]],
    replace = [[if (0) {]],
    tests = { "ctest:^config\\.pkce_verifier_follows_rfc7636$" },
  },
  {
    name = "webhook-hmac-length-only",
    guards = "webhook HMACs are compared (in constant time)",
    file = "csrc/oc_sig.c",
    find = [[same = strlen(expected) == slen && CRYPTO_memcmp(expected, signature, slen) == 0;]],
    replace = [[same = strlen(expected) == slen;]],
    tests = { "spec:spec/18-signatures_spec.lua" },
  },
  {
    name = "jwt-signature-unchecked",
    guards = "JWT signatures are compared (in constant time)",
    file = "csrc/oc_sig.c",
    find = [[CRYPTO_memcmp(expected, sig, SIG_TEXT_LEN) != 0) {]],
    replace = [[0) {]],
    tests = { "spec:spec/18-signatures_spec.lua" },
  },

  -- The runners: CI cannot pass when a part did not run or skipped.
  {
    name = "ci-missing-summary-not-counted",
    guards = ".ci/run: a part whose summary is missing is a failure naming the part",
    file = "scripts/ci-summary",
    find = [[    problem "part '$name' printed no summary"
    extra_fail=$((extra_fail + 1))]],
    replace = [[    problem "part '$name' printed no summary"]],
    tests = { "ctest:^ci\\.each_part_missing$" },
  },
  {
    name = "ci-skips-pass-in-ci",
    guards = ".ci/run: a skip CI can avoid (redis-server, IPv6 loopback) is a failure in CI",
    file = "scripts/ci-summary",
    find = [[[ "$CI" = 1 ] && failed=$((failed + all_skip))]],
    replace = [[true]],
    tests = { "ctest:^ci\\.skips_fail_in_ci$" },
  },
  {
    name = "ctest-skips-counted-as-passed",
    guards = "scripts/run-suite: a ctest skip (exit 77) is a skip, never a pass",
    file = "scripts/run-suite",
    find = [[  c_skip=$(grep -cE '\*\*\*(Skipped|Not Run \(Disabled\)) ' "$log/results" || true)]],
    replace = [[  c_skip=0; c_pass=$((c_pass + $(grep -cE '\*\*\*(Skipped|Not Run \(Disabled\)) ' "$log/results" || true)))]],
    tests = { "ctest:^ci\\.run_suite_counts_each_outcome$" },
  },
  {
    name = "valgrind-ran-nothing-passes",
    guards = "tests/valgrind.sh fails when it ran nothing",
    file = "tests/valgrind.sh",
    find = [[  failed=1
fi]],
    replace = [[  :
fi]],
    tests = { "ctest:^ci\\.valgrind_that_ran_nothing_fails$" },
  },
  {
    name = "fuzz-no-summary-after-a-failed-step",
    guards = "fuzz/run prints its summary even when a step fails under set -e",
    file = "fuzz/run",
    find = [[trap summary EXIT]],
    replace = [[:]],
    tests = { "ctest:^ci\\.fuzz_run_summary_after_a_failed_step$" },
  },
}
