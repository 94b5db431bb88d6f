"""The shared link: which of the state's settings the URL carries, under which short names, and how a link's
values that Panel could not apply are applied one by one (the others are named in a message)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import param

from transformer_explainer.viz.i18n import translator

# state parameter -> the link's name for it
URL_PARAMETERS = {"prompt": "prompt", "temperature": "t", "top_k": "k", "top_p": "p", "seed": "seed", "view": "view",
                  "layer": "layer", "head": "head", "position": "pos", "ablated": "ablate", "expanded": "expand",
                  "lang": "lang", "tour": "tour", "compare": "compare", "made": "made", "step": "step"}


def apply_link_settings(state, values: dict, search: str = "") -> None:
    """What Panel's URL sync calls when it could not apply a link's settings. Two of its habits need undoing:
    it reads text that looks like a number, a boolean or JSON as one (a prompt "1984", an ablation "0.3" or
    "0.10"), which a text setting refuses; and when one setting is refused it applies none. Text settings take
    the link's own text; the others are applied one by one, and only those refused are named."""
    raw = dict(parse_qsl(search.lstrip("?"), keep_blank_values=True))
    invalid = []
    for name, value in values.items():
        if isinstance(state.param[name], param.String) and URL_PARAMETERS.get(name) in raw:
            value = raw[URL_PARAMETERS[name]]
        try:
            state.param.update({name: value})
        except Exception:  # noqa: BLE001 - any value param refuses (out of bounds, wrong type) is reported
            invalid.append(name)
    if invalid:  # beside what the settings that did apply have to say (an ignored ablation entry, a bad seed)
        state.report("link", translator(state.lang)("app.invalid_link", names=", ".join(sorted(invalid))))
