"""Nothing of one company is visible from another."""

from recurent.companies.models import Role
from recurent.companies.selectors import can_write, companies_for, role_in
from recurent.companies.services import membership_grant
from recurent.invoices.models import Invoice
from recurent.invoices.services import issue_due
from tests import factories as f
from tests.factories import local


def test_users_see_only_their_companies_and_billing_stays_per_company(db):
    a, sa, ua = f.setup_company()
    b = f.company(legal_name="Alta Firma SRL", cui="RO14399840")
    f.series(b, "ALT")
    ub = f.user()
    membership_grant(user=ub, company=b, role=Role.VIEWER)
    f.contract(a, issuer=ua, first=local(2026, 1, 31))
    membership_grant(user=ua, company=b, role=Role.ADMIN)
    f.contract(b, issuer=ua, first=local(2026, 1, 31))
    issue_due(as_of=local(2026, 2, 1))
    assert list(companies_for(ub)) == [b]
    assert set(companies_for(ua)) == {a, b}
    assert role_in(ub, a) is None and role_in(ub, b) == Role.VIEWER
    assert not can_write(ub, b) and can_write(ua, b)
    # Each company numbers its own series from 1.
    assert Invoice.objects.get(company=a).full_number == "REC-000001"
    assert Invoice.objects.get(company=b).full_number == "ALT-000001"
    assert issue_due(as_of=local(2026, 2, 1), company_id=b.pk).issued == 0


def test_a_contract_cannot_use_another_companys_client_series_or_product(db):
    import pytest
    from django.core.exceptions import ValidationError

    a, sa, ua = f.setup_company()
    b = f.company(legal_name="Alta Firma SRL", cui="RO14399840")
    sb = f.series(b, "ALT")
    foreign_client = f.client(b)
    foreign_product = f.product(b)
    with pytest.raises(ValidationError) as e:
        f.contract(a, issuer=ua, client_=foreign_client)
    assert "client" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        f.contract(a, issuer=ua, series=sb)
    assert "series" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        f.contract(a, issuer=ua, lines=[(foreign_product, "1")])
    assert "lines[1].product" in e.value.message_dict
    outsider = f.user()
    with pytest.raises(ValidationError) as e:
        f.contract(a, issuer=outsider)
    assert "issuer" in e.value.message_dict
