#!/bin/sh
# Peer: the curl command run once per request, as shell glue scripts do.
# Usage: curl_cli_seq.sh URL TOKEN N. The token goes in through a header
# file, not argv. Prints requests=<n> seconds=<wall> cpu=<user+sys seconds>.
set -eu
url=$1
n=$3
hdr=$(mktemp)
trap 'rm -f "$hdr"' EXIT
printf 'Authorization: Bearer %s\n' "$2" > "$hdr"
start=$(date +%s.%N)
i=0
while [ $i -lt "$n" ]; do
  curl -s -f -o /dev/null -H @"$hdr" "$url"
  i=$((i + 1))
done
end=$(date +%s.%N)
# CPU of the children: from /proc/self/stat fields cutime+cstime (clock ticks)
ticks=$(getconf CLK_TCK)
cpu=$(awk -v t="$ticks" '{printf "%.6f", ($16 + $17) / t}' /proc/$$/stat)
echo "requests=$n seconds=$(echo "$end - $start" | bc -l) cpu=$cpu"
