# Sourced by the shims in bin/: prints a recorded file with its times made relative to now, so
# that the guest's logs line up with the scenario's relative API times on any day.
# A token @@KIND:-SECONDS@@ becomes the time SECONDS before now (DIAG_NOW when set), in the
# guest's zone (TZ), formatted for KIND: iso (journalctl -o short-iso), boot (journalctl
# --list-boots), last (last -F).
render() {
  now=${DIAG_NOW:-$(date +%s)}
  script=
  for tok in $(grep -o '@@[a-z]*:-[0-9]*@@' "$1" | sort -u); do
    kind=${tok#@@}
    kind=${kind%%:*}
    off=${tok#*:-}
    off=${off%@@}
    case $kind in
    iso) fmt='+%Y-%m-%dT%H:%M:%S%z' ;;
    boot) fmt='+%a %Y-%m-%d %H:%M:%S %Z' ;;
    last) fmt='+%a %b %e %H:%M:%S %Y' ;;
    *) continue ;;
    esac
    script="$script;s|$tok|$(date -d "@$((now - off))" "$fmt")|g"
  done
  sed "${script#;}" "$1"
}
