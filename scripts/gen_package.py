#!/usr/bin/env python3
"""Generate a large, valid Canon package for benchmarks: gen_package.py LINES OUTDIR.

Each module (about 60 lines) has enums, records, an event, a destination, a
table, functions, two decision tables and a handler; modules are spread over
files of about 1,000 lines."""
import os
import sys

MODULE = '''/// Module {i}: seniority used for rate cards.
enum Role{i} {{ Associate, Senior, Principal, Partner }}
enum Region{i} {{ NA, EU = "eu", UK, APAC }}

record Project{i} {{
  code: Text
  billable: Bool
  currency: Currency
  budget: Decimal?
}}

event Logged{i} as "logged.{i}" {{
  role: Role{i}
  region: Region{i}
  project: Text
  hours: Decimal
  note: Text?
  day: Date
}}

record Line{i} {{
  project: Text
  amount: Money
  label: Text
  period: Date
}}

destination out{i}: Line{i}
table projects{i}: Project{i} key code

fn cap{i}(h: Decimal) -> Decimal = if h > 12 then 12 else h
fn label{i}(r: Role{i}) -> Text = match r {{ Associate => "a", Senior => "s", Principal => "p", Partner => "x" }}

decision rate{i}(role: Role{i}, region: Region{i}, hours: Decimal) -> Money
  hit first
  | role      | region  | hours   || rate       |
  | Partner   | -       | -       || 450.00 USD |
  | Senior    | EU, UK  | > 8     || 210.00 EUR |
  | Senior    | -       | -       || 200.00 USD |
  | Principal | not NA  | [0..40] || 300.00 EUR |
  | -         | -       | -       || 120.00 USD |

decision band{i}(hours: Decimal) -> Text
  hit unique
  | hours    || band    |
  | < 4      || "short" |
  | [4..8]   || "day"   |
  | > 8      || "long"  |

on Logged{i} as l {{
  check l.hours > 0 and l.hours <= 24 else reject HOURS "bad hours {{l.hours}}"
  let p = projects{i}[l.project]
  require p != none else reject UNKNOWN "no project {{l.project}}"
  let rate = rate{i}(l.role, l.region, l.hours)
  let amount = round(rate * cap{i}(l.hours), 2)
  check p.budget == none or l.hours <= (p.budget ?? 0) else reject BUDGET "over budget"
  emit out{i} Line{i} {{
    project: p.code,
    amount: amount,
    label: "{{label{i}(l.role)}}-{{band{i}(l.hours)}}-{{l.note ?? "none"}}",
    period: start_of_month(l.day),
  }}
}}
'''


def main():
    lines, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    per = MODULE.count("\n") + 1
    n = max(1, lines // per)
    files, buf, count = 0, [], 0
    for i in range(n):
        buf.append(MODULE.format(i=i))
        count += per
        if count >= 1000 or i == n - 1:
            with open(os.path.join(out, "part%03d.canon" % files), "w") as f:
                f.write("\n".join(buf))
            files, buf, count = files + 1, [], 0


if __name__ == "__main__":
    main()
