#!/usr/bin/python3
"""Reference for `embedlab similar`: gensim's most_similar on the GloVe subset (run once; output is
checked in as tests/data/similar_reference.json). Usage: gen_similar_reference.py [SHARED_DATA]"""
import json
import os
import sys

import gensim
from gensim.models import KeyedVectors

data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data")
path = os.path.join(data, "glove-6B-50d-subset", "glove.6B.50d.subset3091.txt")
kv = KeyedVectors.load_word2vec_format(path, binary=False, no_header=True)
words = ["cat", "dog", "banana", "king", "paris", "computer"]
out = {"gensim": gensim.__version__, "file": "glove-6B-50d-subset/glove.6B.50d.subset3091.txt", "topn": 10,
       "cases": {w: [[n, float(c)] for n, c in kv.most_similar(w, topn=10)] for w in words if w in kv}}
json.dump(out, open(os.path.join(os.path.dirname(__file__), "..", "tests", "data", "similar_reference.json"), "w"),
          indent=1)
