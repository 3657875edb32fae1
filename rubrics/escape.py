"""Escaping of judged text: nothing in it may open or close a prompt element.

`escape` replaces, in one pass:

- `&`, `<` and `>` with `&amp;`, `&lt;` and `&gt;`;
- symbols that look like `<` or `>` with `&lt;` or `&gt;` (a double bracket with two), so
  that a judge model cannot read `⟨/response⟩` as the end of the element;
- letters that look like `<` or `>` (Canadian syllabics PA/PO, runic KAUNA, Miao ZZA)
  with a numeric character reference (`&#x1438;`): they are letters of living scripts,
  so the reference keeps them exact while no longer looking like a bracket;
- invisible characters that can hide text from a human reviewer while a model still
  reads it (tag characters, which some models read as ASCII; zero-width and bidi
  controls; supplementary variation selectors; fillers) with a numeric character
  reference, so the judge and a reviewer both see that they were there.

Kept as they are, on purpose: `«` `»` (everyday quotation marks in French, German,
Russian...), hiragana `く` and CJK strokes (listed as confusable with `〈`, but ordinary
Japanese and Chinese text), the variation selectors U+FE00-FE0F (emoji presentation and
CJK variants) and control characters other than the ones above.

The look-alikes come from Unicode's confusables data (security/confusables.txt, as shipped
in the `confusable-homoglyphs` 3.3.1 data file): every character whose skeleton is `<`,
`>`, `<<` or `>>`, or that shares a skeleton with `〈`/`〉`; plus the compatibility forms
whose NFKD is `<` or `>` (fullwidth and small forms) and the remaining angle brackets of
the Miscellaneous Technical, Dingbats and Miscellaneous Mathematical Symbols blocks. The
invisible ones are Unicode 14's general category Cf less the visible "prepended
concatenation marks" (Arabic number signs and the like), plus the characters named below.
"""

from __future__ import annotations

_LEFT = (
    "\u02c2"  # MODIFIER LETTER LEFT ARROWHEAD          (confusables: <)
    "\u02f1"  # MODIFIER LETTER LOW LEFT ARROWHEAD
    "\u2039"  # SINGLE LEFT-POINTING ANGLE QUOTATION MARK (confusables: <)
    "\u2329"  # LEFT-POINTING ANGLE BRACKET             (confusables: 〈)
    "\u276c"  # MEDIUM LEFT-POINTING ANGLE BRACKET ORNAMENT (confusables: 〈)
    "\u276e"  # HEAVY LEFT-POINTING ANGLE QUOTATION MARK ORNAMENT (confusables: <)
    "\u2770"  # HEAVY LEFT-POINTING ANGLE BRACKET ORNAMENT
    "\u27e8"  # MATHEMATICAL LEFT ANGLE BRACKET         (confusables: 〈)
    "\u2991"  # LEFT ANGLE BRACKET WITH DOT
    "\u2993"  # LEFT ARC LESS-THAN BRACKET
    "\u29fc"  # LEFT-POINTING CURVED ANGLE BRACKET
    "\u3008"  # LEFT ANGLE BRACKET (CJK)
    "\ufe64"  # SMALL LESS-THAN SIGN                    (NFKD: <)
    "\uff1c"  # FULLWIDTH LESS-THAN SIGN                (NFKD: <)
    "\U0001d236"  # GREEK INSTRUMENTAL NOTATION SYMBOL-40 (confusables: <)
)
_RIGHT = (
    "\u02c3"  # MODIFIER LETTER RIGHT ARROWHEAD
    "\u02f2"  # MODIFIER LETTER LOW RIGHT ARROWHEAD
    "\u203a"  # SINGLE RIGHT-POINTING ANGLE QUOTATION MARK
    "\u232a"  # RIGHT-POINTING ANGLE BRACKET
    "\u276d"  # MEDIUM RIGHT-POINTING ANGLE BRACKET ORNAMENT
    "\u276f"  # HEAVY RIGHT-POINTING ANGLE QUOTATION MARK ORNAMENT
    "\u2771"  # HEAVY RIGHT-POINTING ANGLE BRACKET ORNAMENT
    "\u27e9"  # MATHEMATICAL RIGHT ANGLE BRACKET
    "\u2992"  # RIGHT ANGLE BRACKET WITH DOT
    "\u2994"  # RIGHT ARC GREATER-THAN BRACKET
    "\u29fd"  # RIGHT-POINTING CURVED ANGLE BRACKET
    "\u3009"  # RIGHT ANGLE BRACKET (CJK)
    "\ufe65"  # SMALL GREATER-THAN SIGN
    "\uff1e"  # FULLWIDTH GREATER-THAN SIGN
    "\U0001d237"  # GREEK INSTRUMENTAL NOTATION SYMBOL-42
)
_DOUBLE_LEFT = (
    "\u226a"  # MUCH LESS-THAN                          (confusables: <<)
    "\u27ea"  # MATHEMATICAL LEFT DOUBLE ANGLE BRACKET
    "\u300a"  # LEFT DOUBLE ANGLE BRACKET (CJK)
)
_DOUBLE_RIGHT = (
    "\u226b"  # MUCH GREATER-THAN                       (confusables: >>)
    "\u27eb"  # MATHEMATICAL RIGHT DOUBLE ANGLE BRACKET
    "\u300b"  # RIGHT DOUBLE ANGLE BRACKET (CJK)
)
_LETTERS = (
    "\u1433"  # CANADIAN SYLLABICS PO                   (confusables: >)
    "\u1438"  # CANADIAN SYLLABICS PA                   (confusables: <)
    "\u16b2"  # RUNIC LETTER KAUNA                      (confusables: <)
    "\U00016f3f"  # MIAO LETTER ARCHAIC ZZA             (confusables: >)
)
LOOKALIKES = _LEFT + _RIGHT + _DOUBLE_LEFT + _DOUBLE_RIGHT + _LETTERS
"""Every character other than `<` and `>` that `escape` treats as an angle bracket."""

_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),  # SOFT HYPHEN
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER (Mn, invisible)
    (0x061C, 0x061C),  # ARABIC LETTER MARK (bidi)
    (0x115F, 0x1160),  # HANGUL CHOSEONG/JUNGSEONG FILLER (Lo, blank)
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ/AA (Mn, invisible)
    (0x180E, 0x180E),  # MONGOLIAN VOWEL SEPARATOR
    (0x200B, 0x200F),  # ZERO WIDTH SPACE, NON-JOINER, JOINER; LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO)
    (0x2060, 0x2064),  # WORD JOINER, invisible operators
    (0x2066, 0x206F),  # bidi isolates; deprecated format characters
    (0x3164, 0x3164),  # HANGUL FILLER (Lo, blank)
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE (BOM)
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER (Lo, blank)
    (0xFFF9, 0xFFFB),  # interlinear annotation controls
    (0x13430, 0x13438),  # Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol beam and slur format controls
    (0xE0000, 0xE007F),  # TAGS: the whole block, assigned or not (ASCII smuggling)
    (0xE0100, 0xE01EF),  # VARIATION SELECTOR-17..256 (Mn; bytes can be hidden in them)
)
INVISIBLE = frozenset(chr(c) for lo, hi in _INVISIBLE_RANGES for c in range(lo, hi + 1))
"""Every character that `escape` shows as a numeric character reference because it is
invisible (or blank) when displayed."""

_TABLE: dict[int, str] = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    **{ord(c): "&lt;" for c in _LEFT},
    **{ord(c): "&gt;" for c in _RIGHT},
    **{ord(c): "&lt;&lt;" for c in _DOUBLE_LEFT},
    **{ord(c): "&gt;&gt;" for c in _DOUBLE_RIGHT},
    **{ord(c): f"&#x{ord(c):X};" for c in _LETTERS},
    **{ord(c): f"&#x{ord(c):X};" for c in INVISIBLE},
}


def escape(text: str) -> str:
    """Escape a judged text so that it cannot open or close an element, nor hide text."""
    return text.translate(_TABLE)
