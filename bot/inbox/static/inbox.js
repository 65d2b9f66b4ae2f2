// The reply counter of the inbox: characters, SMS segments and the characters replaced.
// The server checks everything again (bot/services/advisor_actions.py); these tables copy
// bot/wording/gsm7.py, and tests/test_inbox_conversations.py fails if they drift apart.
"use strict";
(function () {
  const GSM7_BASIC = "\n\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz\u00a1\u00a3\u00a4\u00a5\u00a7\u00bf\u00c4\u00c5\u00c6\u00c7\u00c9\u00d1\u00d6\u00d8\u00dc\u00df\u00e0\u00e4\u00e5\u00e6\u00e8\u00e9\u00ec\u00f1\u00f2\u00f6\u00f8\u00f9\u00fc\u0393\u0394\u0398\u039b\u039e\u03a0\u03a3\u03a6\u03a8\u03a9";
  const GSM7_EXTENSION = "\f[\\]^{|}~\u20ac";
  const FRENCH_MAP = {"\u00ea": "e", "\u00eb": "e", "\u00e2": "a", "\u00ee": "i", "\u00ef": "i", "\u00f4": "o", "\u00fb": "u", "\u00ff": "y", "\u00e7": "c", "\u00e1": "a", "\u00ed": "i", "\u00f3": "o", "\u00fa": "u", "\u00ca": "E", "\u00cb": "E", "\u00c8": "E", "\u00c2": "A", "\u00c0": "A", "\u00ce": "I", "\u00cf": "I", "\u00d4": "O", "\u00db": "U", "\u00d9": "U", "\u0178": "Y", "\u0153": "oe", "\u0152": "OE", "\u00e6": "ae", "\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'", "\u00ab": "\"", "\u00bb": "\"", "\u201c": "\"", "\u201d": "\"", "\u201e": "\"", "\u2026": "...", "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2011": "-", "\u2010": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\t": " ", "\u00b0": "o", "\u2022": "-", "\u00d7": "x", "\u20ac": "EUR"};
  const LIMITS = { gsm: [160, 153], ucs: [70, 67] };

  const inGsm = (c) => GSM7_BASIC.includes(c) || GSM7_EXTENSION.includes(c);

  function mapChar(c) {
    if (Object.prototype.hasOwnProperty.call(FRENCH_MAP, c)) return FRENCH_MAP[c];
    if (inGsm(c)) return c;
    // Same fallback as the server: strip accents, drop what is left outside GSM-7.
    return Array.from(c.normalize("NFKD")).filter((d) => GSM7_BASIC.includes(d)).join("");
  }

  function prepare(text, unicodeAllowed) {
    const replaced = new Map();
    if (unicodeAllowed) return { text, replaced };
    let out = "";
    for (const c of text) {
      const m = mapChar(c);
      if (m !== c) replaced.set(c, m);
      out += m;
    }
    return { text: out, replaced };
  }

  function segments(text) {
    const gsm = Array.from(text).every(inGsm);
    let units;
    let limits;
    if (gsm) {
      units = Array.from(text).reduce((n, c) => n + (GSM7_EXTENSION.includes(c) ? 2 : 1), 0);
      limits = LIMITS.gsm;
    } else {
      units = text.length; // UTF-16 code units, as UCS-2 counts them
      limits = LIMITS.ucs;
    }
    const count = units <= limits[0] ? 1 : Math.ceil(units / limits[1]);
    return { encoding: gsm ? "GSM-7" : "UCS-2", units, count: Math.max(count, 1) };
  }

  function show(field, counter, hint) {
    const max = Number(field.dataset.maxSegments || "3");
    const prepared = prepare(field.value.trim(), field.dataset.unicode === "1");
    const s = segments(prepared.text);
    const chars = Array.from(prepared.text).length;
    let message = chars + " caractère" + (chars > 1 ? "s" : "") + ", " + s.count + " SMS";
    message += s.count > max ? " : trop long, " + max + " SMS au plus." : " sur " + max + " au plus.";
    counter.textContent = message;
    counter.classList.toggle("trop-long", s.count > max);
    const pairs = Array.from(prepared.replaced, ([from, to]) => from + "→" + (to || "(supprimé)"));
    hint.textContent = pairs.length ? "Caractères hors GSM-7 remplacés : " + pairs.join(", ") : "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    const field = document.getElementById("texte");
    const counter = document.getElementById("compteur");
    const hint = document.getElementById("remplacements");
    if (!field || !counter || !hint) return;
    field.addEventListener("input", () => show(field, counter, hint));
    show(field, counter, hint);
  });
})();
