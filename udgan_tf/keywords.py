"""The keyword arguments a callable takes: what a config section or a spec is checked against.

Data sets (``data.get_dataset``), methods (``models.registry.Method.model_keys``) and guidance
functions (``guidance.build``) all refuse an option their constructor or function does not
take, naming it and the accepted ones; this is where the accepted ones come from.
"""

import inspect

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _parameters(function, skip):
    return list(inspect.signature(function).parameters.values())[skip:]


def keyword_names(function, skip=0, required_only=False):
    """The names ``function`` takes as keywords, after its first ``skip`` parameters (``self``, the
    images of a guidance function); with ``required_only``, those without a default. A ``**kwargs``
    is not a name (see ``takes_any_keyword``).

    Example:
        >>> keyword_names(lambda images, box="top": images, skip=1)
        ['box']
    """
    return [p.name for p in _parameters(function, skip)
            if p.kind in _NAMED and not (required_only and p.default is not p.empty)]


def takes_any_keyword(function):
    """True when ``function`` has a ``**kwargs``, so that no keyword can be refused."""
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in _parameters(function, 0))
