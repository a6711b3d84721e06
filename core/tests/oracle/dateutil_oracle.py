#!/usr/bin/env python3
"""Independent oracle for calendar expansion: python-dateutil's rrule.

Reads a JSON list of {"rrule", "dtstart" (local, no offset), "tz", "n"} on
stdin; writes a JSON list with, per rule, the first n occurrences as
{"utc": "YYYY-MM-DDTHH:MM:SSZ", "edge": bool}, where edge marks a local time
that falls in a DST gap or overlap of the zone (the comparison skips rules
that touch one: dateutil works on naive local times there).
"""
import datetime as dt
import itertools
import json
import sys

try:
    from dateutil.rrule import rrulestr
except ImportError:
    sys.exit("python-dateutil is missing: pip install python-dateutil (make test installs it)")
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc


def is_edge(naive, zone):
    a = naive.replace(tzinfo=zone, fold=0)
    b = naive.replace(tzinfo=zone, fold=1)
    if a.utcoffset() != b.utcoffset():
        return True  # overlap, or gap (the two folds disagree in both cases)
    # A gap time does not survive a round trip through UTC.
    back = a.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return back != naive


def expand(case):
    zone = UTC if case["tz"] == "UTC" else ZoneInfo(case["tz"])
    start = dt.datetime.fromisoformat(case["dtstart"])
    aware_until = "UNTIL=" in case["rrule"] and case["rrule"].split("UNTIL=")[1].split(";")[0].endswith("Z")
    if aware_until:
        rule = rrulestr(case["rrule"], dtstart=start.replace(tzinfo=zone))
    else:
        rule = rrulestr(case["rrule"], dtstart=start)
    out = []
    for occ in itertools.islice(iter(rule), case["n"]):
        naive = occ.replace(tzinfo=None)
        edge = is_edge(naive, zone)
        aware = naive.replace(tzinfo=zone, fold=0)
        out.append({"utc": aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "edge": edge})
    return out


def main():
    cases = json.load(sys.stdin)
    out = []
    for c in cases:
        try:
            out.append(expand(c))
        except ValueError as e:
            # dateutil refuses some rules whose BYxxx can never be reached
            # with the INTERVAL; the comparison leaves them out.
            out.append({"error": str(e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
