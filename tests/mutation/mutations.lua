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
    guards = "a save replaces the settings file (temp file, then rename over the old one)",
    file = "csrc/oc_store_file.c",
    find = [[    if (rename(tmp, f->path) != 0) {]],
    replace = [[    if ((access(f->path, F_OK) == 0 ? unlink(tmp) : rename(tmp, f->path)) != 0) {]],
    tests = { "ctest:^store\\.readers_see_whole_sets_while_a_writer_replaces_them$",
      "ctest:^store\\.file_store_keeps_the_contract$" },
  },
  {
    name = "file-save-does-nothing",
    guards = "tokens are kept in OAuthSettingsLocation",
    file = "csrc/oc_store_file.c",
    find = [[    if ((rc = check_dir(f, 1, err)) != OC_OK || (rc = lock_for_write(f, &locked_here, err)) != OC_OK)
        return rc;
    if ((rc = file_holds(f, expected, elen, expected_found, err)) != OC_OK)]],
    replace = [[    if (1)
        return OC_OK;
    if ((rc = file_holds(f, expected, elen, expected_found, err)) != OC_OK)]],
    tests = { "ctest:^store\\.file_round_trip_private_and_nested_dirs$",
      "spec:spec/05-refresh_spec.lua" },
  },
  {
    name = "file-compare-and-set",
    guards = "an older set never overwrites a newer one: a save compares what the file holds first",
    file = "csrc/oc_store_file.c",
    find = [[    if ((rc = file_holds(f, expected, elen, expected_found, err)) != OC_OK)
        goto out;]],
    replace = [[    (void)file_holds;]],
    tests = { "ctest:^store\\.file_store_keeps_the_contract$" },
  },
  {
    name = "memory-compare-and-set",
    guards = "memory:// stores keep the same compare-and-set as the others",
    file = "csrc/oc_store.c",
    find = [[    if (!memory_holds(m, expected, elen, expected_found)) {
        pthread_mutex_unlock(&m->mutex);
        oc_buf_free(&copy);]],
    replace = [[    if (0) {
        pthread_mutex_unlock(&m->mutex);
        oc_buf_free(&copy);]],
    tests = { "ctest:^store\\.memory_store_keeps_the_contract$" },
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
    file = "csrc/oc_call_token.c",
    find = [[        if (call->found && call->base.access_token &&]],
    replace = [[        if (0 && call->found && call->base.access_token &&]],
    tests = { "spec:spec/05-refresh_spec.lua#adopts another client's refresh",
      "spec:spec/13-reliability_spec.lua#processes that meet an expired token at once send one refresh" },
  },
  {
    name = "rotated-token-used-before-saved",
    guards = "a rotated refresh token is written to the store before the new access token is used",
    file = "csrc/oc_call_token.c",
    -- the save is skipped: the set is adopted as if it had been saved
    find = [[    oc_call_save(call, token_saved);]],
    replace = [[    call->step_rc = OC_OK;
    token_saved(call);]],
    tests = { "ctest:^call\\.rotated_token_is_stored_before_it_is_used$",
      "spec:spec/05-refresh_spec.lua#holds the rotated refresh token in the settings file while the new access token is in use" },
  },
  {
    name = "401-generation-check",
    guards = "a 401 to a token another call already renewed is resent, not refreshed again",
    file = "csrc/oc_call_api.c",
    find = [[    if (c->generation != call->sent_generation) {]],
    replace = [[    if (0) {]],
    tests = { "ctest:^call\\.a_401_after_another_calls_refresh_resends_without_reading_the_store$" },
  },
  {
    name = "stored-token-after-401-ignored",
    guards = "a 401 for a token that is no longer the newest in the store is answered by adopting the newest and resending",
    file = "csrc/oc_call_api.c",
    find = [[    if (strcmp(c->token_hash, call->sent_token) != 0) {]],
    replace = [[    if (0) {]],
    tests = { "ctest:^call\\.a_401_for_a_replaced_token_is_answered_with_the_stored_one_each_time$",
      "spec:spec/22-churn_spec.lua#answers each 401 for a token another process replaced" },
  },
  {
    name = "token-chosen-before-the-wait",
    guards = "the token is chosen after any wait, not before",
    file = "csrc/oc_call_api.c",
    find = [[        oc_call_peek(call, recheck_due);]],
    replace = [[        recheck_due(call);]],
    tests = { "ctest:^call\\.the_token_is_chosen_after_a_quota_wait$" },
  },
  {
    name = "quota-wait-counts-against-timeout",
    guards = "a wait for a spent quota never becomes a Timeout failure",
    file = "csrc/oc_call.c",
    find = [[        call->deadline_ms += wait;]],
    replace = [[        (void)wait;]],
    tests = { "spec:spec/22-churn_spec.lua#does not count a wait for a spent quota against Timeout" },
  },
  {
    name = "callback-query-chooses-the-verifier",
    guards = "the callback query passed to get_access_token never chooses the exchange's redirect_uri or code_verifier",
    file = "lua/oauthconnect/provider.lua",
    find = [[      if type(v) == "string" and k ~= "code" and k ~= "state" and k ~= "code_verifier" and k ~= "redirect_uri" then
        callback[k] = v
      end]],
    replace = [[      if type(v) == "string" and k ~= "code" and k ~= "state" then
        callback[k] = v
      end
      if k == "code_verifier" or k == "redirect_uri" then params[k] = v end]],
    tests = { "spec:spec/04-web_flow_spec.lua#never lets the callback's query choose" },
  },
  {
    name = "redis-compare-and-set",
    guards = "the new set is written to Redis only while the stored set is still the one read (compare-and-set)",
    file = "csrc/oc_store_redis.c",
    find = [[if ARGV[3] == '1' then if cur ~= ARGV[2] then return 0 end elseif cur then return 0 end]],
    replace = [[if false then return 0 end]],
    tests = { "ctest:^redis\\.keeps_the_store_contract$" },
  },
  {
    name = "redis-lock-not-exclusive",
    guards = "the Redis lock is SET NX PX: one holder across machines",
    file = "csrc/oc_store_redis.c",
    find = [[    argv[3] = "NX";]],
    replace = [[    argv[3] = "XX";]],
    tests = { "ctest:^redis\\.lock_is_exclusive_and_released_by_its_owner$",
      "ctest:^redis\\.keeps_the_store_contract$" },
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
    guards = "secrets never appear in errors",
    file = "csrc/oc_client_secrets.c",
    find = [[        oc_redact_copy(clean, sizeof clean, err->message, strlen(err->message), &s);]],
    replace = [[        oc_copy_printable(clean, sizeof clean, err->message, strlen(err->message));]],
    tests = { "ctest:^redact\\.client_scrub_error_replaces_every_known_secret$",
      "spec:spec/14-hostile_input_spec.lua#secrets a server or libcurl quotes back" },
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
  {
    name = "discovery-issuer-unchecked",
    guards = "a metadata document whose issuer does not match its URL is refused (RFC 8414 3.3)",
    file = "csrc/oc_discovery.c",
    find = [[    if (strstr(url, "/.well-known/") == NULL ? !same_origin_issuer(url, issuer)
                                             : !same_issuer(issuer, expected)) {]],
    replace = [[    if (0) {]],
    tests = { "ctest:^discovery\\.wrong_issuer_names_both$",
      "spec:spec/31-any_server_spec.lua#refuses a document whose issuer is not the URL's" },
  },
  {
    name = "secret-pieces-not-redacted",
    guards = "a part of a secret a server quotes (8 bytes or more) is redacted from errors and logs, not only the whole",
    file = "csrc/oc_redact.c",
    find = [[        mark_pieces(hide, text, len, s, lens);]],
    replace = [[        (void)mark_pieces;]],
    tests = { "ctest:^redact\\.pieces_a_server_quotes_are_redacted_too$" },
  },
  {
    name = "logout-skips-revocation",
    guards = "client:revoke() and logout send the stored tokens to the revocation endpoint before removing them",
    file = "csrc/oc_call_logout.c",
    find = [[    if (t) {
        oc_call_revoke_token(call, t, forget_remove);]],
    replace = [[    if (0) {
        oc_call_revoke_token(call, t, forget_remove);]],
    tests = { "spec:spec/31-any_server_spec.lua#revokes the refresh token, then the access token" },
  },
  {
    name = "device-slow-down-ignored",
    guards = "the device login polls 5 s more slowly after each slow_down (RFC 8628 3.5)",
    file = "csrc/oc_call_device.c",
    find = [[        call->device_interval_ms += SLOW_DOWN_MS;]],
    replace = [[        (void)0;]],
    tests = { "spec:spec/31-any_server_spec.lua#slows down when asked" },
  },
}
