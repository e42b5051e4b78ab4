"""DCAT (ckanext-dcat) profile: cadence and stakeholders in the RDF output.

Only imported when ckanext-dcat is installed and the profile is enabled::

    ckan.plugins = ... dcat kpigov
    ckanext.dcat.rdf.profiles = euro_dcat_ap_2 kpigov_dcat

It adds to each dataset:

- ``dct:accrualPeriodicity`` with the EU frequency URI of the thai_gdc cadence
  (``update_frequency_unit`` × ``update_frequency_interval``, see cadence.py),
  replacing a value an earlier profile took from a ``frequency`` field;
- each stakeholder as a ``prov:qualifiedAttribution`` (``prov:agent`` a
  ``foaf:Agent`` with its name and agency, ``dcat:hadRole`` the INSPIRE
  responsible-party role);
- the data owner and steward as ``dcat:contactPoint`` (``vcard:Kind``).

Contacts appear only as far as the dataset dict has them: package_show
already hides stakeholder emails and phones from outsiders.
"""
from __future__ import annotations

import json
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import FOAF, RDF, Namespace

from ckanext.dcat.profiles import RDFProfile

from .cadence import parse_cadence
from .completeness import field

__all__ = ["KpigovDCATProfile", "ROLE_URIS"]

DCT = Namespace("http://purl.org/dc/terms/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
PROV = Namespace("http://www.w3.org/ns/prov#")
_INSPIRE_ROLE = "http://inspire.ec.europa.eu/metadata-codelist/ResponsiblePartyRole/"

# kpigov stakeholder role → INSPIRE responsible-party role (the vocabulary
# DCAT-AP recommends for dcat:hadRole)
ROLE_URIS = {
    "owner": _INSPIRE_ROLE + "owner",
    "steward": _INSPIRE_ROLE + "pointOfContact",
    "custodian": _INSPIRE_ROLE + "custodian",
    "producer": _INSPIRE_ROLE + "originator",
    "user": _INSPIRE_ROLE + "user",
    "other": _INSPIRE_ROLE + "resourceProvider",
}
CONTACT_ROLES = ("steward", "owner")


def _stakeholders(dataset_dict: dict[str, Any]) -> list[dict[str, Any]]:
    value = field(dataset_dict, "kpigov_stakeholders")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if not isinstance(value, list):
        return []
    return [s for s in value if isinstance(s, dict) and str(s.get("name") or "").strip()]


class KpigovDCATProfile(RDFProfile):
    """Cadence as dct:accrualPeriodicity, stakeholders with roles."""

    def parse_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> dict[str, Any]:
        return dataset_dict

    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> None:
        g = self.g
        g.bind("prov", PROV)
        g.bind("vcard", VCARD)
        unit = field(dataset_dict, "update_frequency_unit")
        if unit:
            try:
                cadence = parse_cadence(unit, field(dataset_dict, "update_frequency_interval"))
            except ValueError:
                cadence = None
            if cadence is not None:
                g.remove((dataset_ref, DCT.accrualPeriodicity, None))
                g.add((dataset_ref, DCT.accrualPeriodicity, URIRef(cadence.eu_uri)))
        for person in _stakeholders(dataset_dict):
            role = str(person.get("role") or "other")
            agent = BNode()
            g.add((agent, RDF.type, FOAF.Agent))
            g.add((agent, FOAF.name, Literal(str(person["name"]))))
            if person.get("agency"):
                g.add((agent, VCARD["organization-name"], Literal(str(person["agency"]))))
            if person.get("email"):
                g.add((agent, FOAF.mbox, URIRef("mailto:" + str(person["email"]))))
            attribution = BNode()
            g.add((attribution, RDF.type, PROV.Attribution))
            g.add((attribution, PROV.agent, agent))
            g.add((attribution, DCAT.hadRole, URIRef(ROLE_URIS.get(role, ROLE_URIS["other"]))))
            g.add((dataset_ref, PROV.qualifiedAttribution, attribution))
            if role in CONTACT_ROLES:
                contact = BNode()
                g.add((contact, RDF.type, VCARD.Kind))
                g.add((contact, VCARD.fn, Literal(str(person["name"]))))
                if person.get("agency"):
                    g.add((contact, VCARD["organization-name"],
                           Literal(str(person["agency"]))))
                if person.get("email"):
                    g.add((contact, VCARD.hasEmail,
                           URIRef("mailto:" + str(person["email"]))))
                if person.get("phone"):
                    g.add((contact, VCARD.hasTelephone, Literal(str(person["phone"]))))
                g.add((dataset_ref, DCAT.contactPoint, contact))

    def graph_from_catalog(self, catalog_dict: dict[str, Any], catalog_ref: Any) -> None:
        pass
