#!/usr/bin/env python3
"""Writes cnt_python.json: texts and what the coordination-network-toolkit's
co_tweet preprocessing makes of them, computed by its own rule
(coordination_network_toolkit/similarity.py, message_preprocessor):

    " ".join(social_media_cleaner.sub("", text.lower()).split())
    social_media_cleaner = regex.compile(r"@.*?(?=(?:\\s|$))")

The cleaner is compiled with the third-party `regex` module, as the toolkit
does: its \\s differs from the standard `re` module's (it does not match
U+001C..U+001F, which str.isspace and `re` count as white space), so this
script needs `regex` (pip install regex). Run:

    python3 cnt_python.py > cnt_python.json
"""
import json, random, sys

import regex

social_media_cleaner = regex.compile(r"@.*?(?=(?:\s|$))")


def message_preprocessor(text):
    return " ".join(social_media_cleaner.sub("", text.lower()).split())


fixed = [
    "RT @user: Hello World https://t.co/AbC",
    "Hello @alice, how are you",
    "email me at x@y.com now",
    "  Multiple   spaces\tand\nnewlines  ",
    "ΟΔΟΣ ΣΑΣ Σ AΣ. ΑΣΑ Σ's",
    "İstanbul",
    "Tom &amp; Jerry",
    "a\x1cb\x1dc\x1ed\x1ff",
    "@ alone",
    "a@b@c d",
    "ＡＢＣ ｆｕｌｌ",
    "zero\u200bwidth",
    "nbsp\u00a0here\u2003em\u3000ideo\u0085nel",
    "",
    "@only",
    "ǅemal",
    "@m\x1cKeep x",
    "a@b\x1dc d",
    "x @a\x1e\x1fb  c",
    "\x1c@a\x1c b\x1fc",
    "@x\x1f",
]
pieces = ["RT", "rt", "@", "@user_1", "@Ωμέγα", "Word", "WORD", "wörd", "ΣΟΦΙΑ", "Σ", "ς", "İ", "ß",
          "https://t.co/XyZ", "http://Example.com/A?b=C", "#Tag", "&amp;", ".", ":", "'", "\u0301",
          "\u200b", "\u00ad", "\u02b0", " ", "  ", "\t", "\n", "\r\n", "\x1c", "\u00a0", "\u2028",
          "\u3000", "x@y", "1", "٣", "ＡＢ", "ǅ", "Ⅻ", "😀", ",", "!", "e\u0301"]
rng = random.Random(7)
cases = [{"in": t, "want": message_preprocessor(t)} for t in fixed]
for _ in range(400):
    t = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
    cases.append({"in": t, "want": message_preprocessor(t)})
json.dump({"python": sys.version.split()[0] + ", regex " + regex.__version__, "cases": cases}, sys.stdout, ensure_ascii=False, indent=0)
