#!/usr/bin/env python3
"""Makes online_retail_excerpt.csv from the full UCI Online Retail file, and
online_retail_excerpt_expected.json: each customer's features computed here,
independently of the Go code, which the tests compare against.

    python3 excerpt.py ../../../../shared/data/online_retail/online_retail.csv.gz

The excerpt is every line of every 75th customer id (sorted), one customer
whose only lines are cancellations, and every 600th line without a customer.
"""
import csv, gzip, json, sys
from datetime import datetime, timedelta

rows = list(csv.reader(gzip.open(sys.argv[1], 'rt', encoding='utf-8', newline='')))
hdr, data = rows[0], rows[1:]
ids = sorted({r[6] for r in data if r[6]})
pick = set(ids[::75])
byc = {}
for r in data:
    if r[6]:
        byc.setdefault(r[6], []).append(r)
pick.add([c for c, rs in byc.items() if all(x[0].startswith('C') for x in rs)][0])
nocust = [r for r in data if not r[6]][::600]
keep = set(id(r) for r in nocust)
out = [r for r in data if r[6] in pick or id(r) in keep]
with open('online_retail_excerpt.csv', 'w', newline='') as f:
    w = csv.writer(f, lineterminator='\n')
    w.writerow(hdr)
    w.writerows(out)

def t(s):
    return datetime.strptime(s, '%Y-%m-%d %H:%M:%S')

def ret(r):  # a return: a cancelled invoice (C...) or a negative amount
    return r[0].startswith('C') or float(r[3]) * float(r[5]) < 0

last = max(t(r[4]) for r in out)
asof = datetime(last.year, last.month, last.day) + timedelta(days=1)
exp = {}
for c in sorted(pick):
    rs = [r for r in out if r[6] == c]
    spent = sum(float(r[3]) * float(r[5]) for r in rs if not ret(r))
    refunded = sum(-float(r[3]) * float(r[5]) for r in rs if ret(r))
    first, lastc = min(t(r[4]) for r in rs), max(t(r[4]) for r in rs)
    exp[c[:-2] if c.endswith('.0') else c] = {
        'recency': (asof - lastc).total_seconds() / 86400,
        'frequency': len({r[0] for r in rs if not ret(r)}),
        'monetary': spent - refunded, 'spent': spent, 'refunded': refunded,
        'tenure': (asof - first).total_seconds() / 86400,
        'lines': len(rs), 'returns': len({r[0] for r in rs if ret(r)}),
    }
json.dump({'asof': asof.strftime('%Y-%m-%d'), 'customers': exp, 'no_customer': len(nocust), 'rows': len(out)},
          open('online_retail_excerpt_expected.json', 'w'), indent=1, sort_keys=True)
