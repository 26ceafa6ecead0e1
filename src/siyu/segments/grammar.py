"""The segment language's grammar (Lark, LALR), and the parser built from it once."""

from __future__ import annotations

from functools import lru_cache

from lark import Lark

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr             -> negation
         | _LPAR or_expr _RPAR
         | condition

condition: subject test?
?subject: path
        | call
call: NAME _LPAR [arguments] _RPAR (_DOT NAME)?
arguments: argument (_COMMA argument)*
argument: NAME _COLON value           -> named
        | path test                   -> filter
        | value                       -> positional
path: NAME (_DOT NAME)*

test: COMPARE value                   -> compare
    | _IN list                        -> is_in
    | _NOT _IN list                   -> not_in
    | _CONTAINS value                 -> contains
    | _BETWEEN value _AND value       -> between
    | _IS _SET                        -> is_set
    | _IS _NOT _SET                   -> is_not_set
list: _LPAR value (_COMMA value)* _RPAR

?value: STRING                        -> string
      | NUMBER                        -> number
      | MONEY                         -> money
      | DURATION                      -> duration
      | DURATION _AGO                 -> ago
      | DATE                          -> date
      | _TRUE                         -> true
      | _FALSE                        -> false
      | NAME                          -> word

_OR.3: /or(?![\w])/i | "||"
_AND.3: /and(?![\w])/i | "&&"
_NOT.3: /not(?![\w])/i
_IN.3: /in(?![\w])/i
_CONTAINS.3: /contains(?![\w])/i
_BETWEEN.3: /between(?![\w])/i
_IS.3: /is(?![\w])/i
_SET.3: /set(?![\w])/i
_AGO.3: /ago(?![\w])/i
_TRUE.3: /true(?![\w])/i
_FALSE.3: /false(?![\w])/i
// Full-width punctuation, as a Chinese keyboard types it, means the same.
_LPAR: "(" | "（"
_RPAR: ")" | "）"
_COMMA: "," | "，"
_COLON: ":" | "："
_DOT: "."
COMPARE: "==" | "!=" | "<>" | "<=" | ">=" | "=" | "<" | ">" | "≠" | "≤" | "≥"
STRING: /"(?:[^"\\\n]|\\.)*"/ | /'(?:[^'\\\n]|\\.)*'/ | /“[^”\n]*”/ | /‘[^’\n]*’/
MONEY.2: /[¥￥]\s*\d+(?:\.\d{1,2})?/ | /\d+(?:\.\d{1,2})?\s*元/
DURATION.2: /\d+[hdw](?![\w])/
DATE.2: /\d{4}-\d{2}-\d{2}(?![\w])/
NUMBER: /-?\d+(?:\.\d+)?(?![\w.])/
NAME: /(?!\d)[\w]+/

COMMENT: /#[^\n]*/
%import common.WS
%ignore WS
%ignore COMMENT
"""


@lru_cache(maxsize=1)
def parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)
