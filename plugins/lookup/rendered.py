# opsproof: a lookup that renders role templates the way ansible.builtin.template does, for the
# roles' "is the file on the host what the template gives?" comparisons.
from __future__ import annotations

DOCUMENTATION = """
    name: rendered
    short_description: the text of role templates rendered with the task's variables
    description:
      - Returns, for each template named, the text that ansible.builtin.template would write
        (same engine, same search path, same ansible_managed and template_* variables).
      - Unlike the template lookup it does not deep-copy every variable of the host for each
        template; the templates see the host's variables read-only, through a layer that holds
        the template_* variables. A role that compares forty templates with the files on four
        hosts spent ~9 s of a no-change run in those copies.
      - For templates that only read variables (every template of this project). Use
        ansible.builtin.template where a template must not see later changes of mutable values.
    options:
      _terms:
        description: template files, looked up in the role's templates/ like the template lookup
"""

RETURN = """
  _raw:
    description: the rendered text of each template, in the order given
    type: list
    elements: str
"""

import os
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from ansible._internal._templating import _template_vars
from ansible._internal._templating._engine import TemplateOptions
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible.template import trust_as_template


class LookupModule(LookupBase):
    def run(self, terms: list[str], variables: Mapping[str, Any] | None = None, **kwargs: Any) -> list[str]:
        variables = variables or {}
        self.set_options(var_options=variables, direct=kwargs)
        search = [str(p) for p in variables.get("ansible_search_path", [])]
        rendered: list[str] = []
        for term in terms:
            path = self.find_file_in_search_path(variables, "templates", term)
            if not path:
                raise AnsibleError(f"rendered: the template {term} was not found in the role's templates/")
            searchpath = [os.path.dirname(path)]
            for p in search:
                searchpath += [os.path.join(p, "templates"), p]
            layer = _template_vars.generate_ansible_template_vars(
                path=term, fullpath=path, include_ansible_managed="ansible_managed" not in variables
            )
            templar = self._templar.copy_with_new_env(
                available_variables=ChainMap(dict(layer), variables),  # type: ignore[arg-type]
                searchpath=searchpath,
            )
            data = trust_as_template(self._loader.get_text_file_contents(path))
            rendered.append(templar._engine.template(data, options=TemplateOptions(escape_backslashes=False)))
        return rendered
