"""The whole reader cross-validated on the shipped examples: per fold the signal model is
trained on the rest and the test examples are read by the full RuleMatcher (rule phrases,
stated years, the model), as a live entry is.

    .venv/bin/python benchmarks/reader_cv.py [out.json]      # SEEDS=0,1,2 by default

Prints each seed's accuracy with progress and reaffirmed as one ("merged"), their mean
(the figure to compare: one seed varies by about a point), and the commonest confusions.
EXP=module runs module.apply() first, to try a variant without editing the tracker."""
import os, sys, json, random
from collections import Counter
from pathlib import Path
import numpy
from sklearn.model_selection import StratifiedKFold
ROOT = os.environ.get("ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__)))); sys.path.insert(0, ROOT); sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tracker.matching.examples import load_examples
from tracker.matching.rulefile import load_rules, find_rule_files
from tracker.matching.training import from_examples
from tracker.matching.signal_model import train
from tracker.matching.matcher import RuleMatcher
from tracker.model import Entry
import importlib
if os.environ.get("EXP"):
    importlib.import_module(os.environ["EXP"]).apply()

rules = load_rules(find_rule_files([Path(ROOT) / "rules"]))
rules = {r.id: r for r in rules.rules}
exs = [e for e in load_examples() if not e.near_miss]
labelled = from_examples(exs, rules)
targets = numpy.array([e.signal for e in exs])
allout = []
seedaccs = []
merge = lambda s: "progress" if s == "reaffirmed" else s
for seed in [int(x) for x in os.environ.get("SEEDS", "0,1,2").split(",")]:
  out = []
  skf = StratifiedKFold(5, shuffle=True, random_state=seed)
  for tr, te in skf.split(numpy.zeros(len(exs)), targets):
      model = train([labelled[i] for i in tr])
      m = RuleMatcher(list(rules.values()), signal_model=model)
      for i in te:
          e = exs[i]
          ms = m.match(Entry(key=e.source, title=e.title, summary=e.text, published_at=e.published_at))
          pick = next((x for x in ms if x.rule_id == e.rule), None) or next((x for x in ms if rules[x.rule_id].parent == e.rule or e.rule and rules.get(e.rule) and rules[e.rule].parent == x.rule_id), None)
          if pick is None:
              read = model.read(e.category, labelled[i].text, labelled[i].cues)
              out.append(dict(i=int(i), truth=e.signal, guess=read.signal.value, source="unmatched", conf=read.confidence))
          else:
              out.append(dict(i=int(i), truth=e.signal, guess=pick.signal.value, source=pick.signal_source, conf=pick.confidence))
  seedaccs.append(sum(merge(o["truth"]) == merge(o["guess"]) for o in out) / len(out))
  print("seed", seed, round(seedaccs[-1], 4), flush=True)
  allout += out
out = allout
print("MEAN merged acc over seeds", round(sum(seedaccs)/len(seedaccs), 4))
json.dump(out, open(sys.argv[1] if len(sys.argv) > 1 else os.devnull, "w"))
merge = lambda s: "progress" if s == "reaffirmed" else s
acc = sum(merge(o["truth"]) == merge(o["guess"]) for o in out) / len(out)
print("merged acc", round(acc, 3), "exact", round(sum(o["truth"] == o["guess"] for o in out) / len(out), 3))
by = Counter(); right = Counter()
for o in out:
    by[o["source"]] += 1; right[o["source"]] += merge(o["truth"]) == merge(o["guess"])
for s in by: print(s, by[s], round(right[s] / by[s], 2))
conf = Counter((merge(o["truth"]), merge(o["guess"])) for o in out if merge(o["truth"]) != merge(o["guess"]))
print(conf.most_common(20))
