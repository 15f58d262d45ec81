#!/bin/sh
# A nightly export with the oauthconnect command, as cron runs it: the paid
# Jumpseller orders as CSV, one file a day.
#
# Once, at a terminal (the browser login; the tokens are kept in
# OAuthSettingsLocation, and refreshed from then on):
#   export OAUTHCONNECT_JUMPSELLER="OAuthClientId=...;OAuthClientSecret=...;CallbackURL=http://127.0.0.1:8000/callback"
#   oauthconnect login jumpseller
# Then in the crontab (cron has no terminal: with nothing stored the command
# fails at once with exit 3 rather than wait for a browser):
#   OAUTHCONNECT_JUMPSELLER="OAuthClientId=...;OAuthClientSecret=...;CallbackURL=http://127.0.0.1:8000/callback"
#   15 2 * * *  /path/to/examples/cron_export.sh /var/lib/shop/exports
#
# The command writes --output beside the file and renames it at the end, so
# a failed run leaves no half file. Exit codes are the command's: 0 ok, 1 API
# or network error, 2 configuration, 3 the login is gone.
# spec/30-examples_spec.lua runs this against the sandbox.
set -u
DIR=${1:?usage: cron_export.sh DIR}
file="$DIR/paid-orders-$(date -u +%Y-%m-%d).csv"

oauthconnect export jumpseller /orders.json -q status=paid --format csv --output "$file"
rc=$?
case $rc in
  0) echo "exported $(($(wc -l <"$file") - 1)) paid orders to $file" ;;
  3) echo "cron_export: the Jumpseller login is gone: run 'oauthconnect login jumpseller' at a terminal" >&2 ;;
  *) echo "cron_export: the export failed (exit $rc); no file was written" >&2 ;;
esac
exit $rc
