"""/admin/rules: list, create, edit, disable, reorder and preview; bad input changes nothing."""

import pytest
import sqlalchemy as sa

from crm.assignment.models import AssignmentRule
from crm.extensions import db
from tests.assignment.helpers import add_rule, set_user
from tests.helpers import audit_actions, csrf_token, make_enquiry


@pytest.fixture
def admin(app, make_user, login):
    ids = {"admin": make_user(role="admin"), "helena": make_user(name="Helena Peyron", sectors=["medtech"]),
           "jonas": make_user(name="Jonas Berg")}
    client = app.test_client()
    login(client, ids["admin"])
    return ids, client


def rules(app):
    with app.app_context():
        return [(r.id, r.priority, r.user_id, r.sectors, r.topics, r.countries, r.active, r.description)
                for r in db.session.scalars(sa.select(AssignmentRule).order_by(AssignmentRule.id))]


def post_rule(client, path="/admin/rules/new", **fields):
    data = {"priority": "100", "enabled": "y", **fields, "csrf_token": csrf_token(client, "/admin/rules")}
    return client.post(path, data=data)


def test_an_admin_creates_edits_disables_and_reorders_rules(app, admin):
    ids, client = admin
    response = post_rule(client, user_id=str(ids["helena"]), sectors=["medtech", "biotech"], countries="se, no",
                         priority="10", description="Life science lead")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/rules"
    (first,) = rules(app)
    assert first[1:] == (10, ids["helena"], ["medtech", "biotech"], [], ["SE", "NO"], True, "Life science lead")
    assert post_rule(client, user_id=str(ids["jonas"]), topics=["talent"], priority="20").status_code == 303
    page = client.get("/admin/rules")
    assert "Helena Peyron" in page.text and "Life science lead" in page.text and "Country: SE, NO" in page.text
    # Edit: the form shows the rule, and saving changes it.
    form = client.get(f"/admin/rules/{first[0]}")
    assert 'value="SE, NO"' in form.text and "checked" in form.text
    assert post_rule(client, f"/admin/rules/{first[0]}", user_id=str(ids["helena"]), sectors=["pharma"],
                     priority="30").status_code == 303
    assert rules(app)[0][3] == ["pharma"] and rules(app)[0][1] == 30
    # Move the second rule up: priorities are renumbered in the new order.
    second = rules(app)[1][0]
    token = csrf_token(client, "/admin/rules")
    assert client.post(f"/admin/rules/{second}/move", data={"direction": "up", "csrf_token": token}).status_code == 303
    assert [(r[0], r[1]) for r in rules(app)] == [(first[0], 20), (second, 10)]
    assert client.post(f"/admin/rules/{second}/disable", data={"csrf_token": token}).status_code == 303
    assert rules(app)[1][6] is False
    assert "Disabled" in client.get("/admin/rules").text
    assert [a for a in audit_actions(app) if a.startswith("rule.")] == [
        "rule.created", "rule.created", "rule.updated", "rule.reordered", "rule.disabled"]


@pytest.mark.parametrize("fields, field_error", [
    ({"user_id": "999999"}, "Choose a staff member."),
    ({"user_id": "abc"}, "Choose a staff member."),
    ({"user_id": ""}, "Choose a staff member."),
    ({"user_id": "inactive"}, "cannot take enquiries"),
    ({"sectors": ["fintech"]}, "Unknown: fintech."),
    ({"topics": ["<script>"]}, "Unknown: &lt;script&gt;."),
    ({"countries": "XX, DK"}, "Unknown: XX."),
    ({"priority": "-1"}, "Give a whole number"),
    ({"priority": "ten"}, "Give a whole number"),
    ({"priority": "9" * 30}, "Give a whole number"),
    ({"description": "x" * 201}, "at most 200"),
])
def test_bad_input_is_422_and_changes_nothing(app, admin, make_user, fields, field_error):
    ids, client = admin
    existing = add_rule(app, to=ids["jonas"], sectors=["robotics"])
    if fields.get("user_id") == "inactive":
        inactive = make_user()
        set_user(app, inactive, active=False)
        fields = {"user_id": str(inactive)}
    before = rules(app), audit_actions(app)
    for path in ("/admin/rules/new", f"/admin/rules/{existing}"):
        response = post_rule(client, path, **{"user_id": str(ids["helena"]), **fields})
        assert response.status_code == 422 and field_error in response.text
        assert (rules(app), audit_actions(app)) == before


def test_a_rule_with_the_same_conditions_as_an_enabled_one_is_refused(app, admin):
    ids, client = admin
    existing = add_rule(app, to=ids["jonas"], sectors=["medtech", "pharma"], countries=["SE"])
    before = rules(app)
    response = post_rule(client, user_id=str(ids["helena"]), sectors=["pharma", "medtech"], countries="se")
    assert response.status_code == 422 and f"Rule #{existing} has exactly these conditions already" in response.text
    assert rules(app) == before
    # A disabled twin may exist, but enabling it again is refused while the other is enabled.
    twin = add_rule(app, to=ids["helena"], sectors=["medtech", "pharma"], countries=["SE"], active=False)
    token = csrf_token(client, "/admin/rules")
    assert client.post(f"/admin/rules/{twin}/enable", data={"csrf_token": token}).status_code == 422
    assert rules(app)[-1][6] is False


def test_a_rule_naming_a_deleted_user_stays_shown_and_is_skipped(app, admin, make_user):
    ids, client = admin
    gone = make_user(name="Former Colleague")
    rule = add_rule(app, to=gone, sectors=["medtech"])
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": gone})
        db.session.commit()
    assert rules(app)[0][2] is None  # ondelete SET NULL: the rule is kept, naming nobody
    assert "the person was deleted; the rule is skipped" in client.get("/admin/rules").text
    preview = client.get("/admin/rules/preview?sector=medtech&topic=talent&country=DK&language=en")
    assert "would go to\n      Helena Peyron" in preview.text and f"#{rule}" in preview.text
    assert "named nobody who could take it" in preview.text


def test_the_preview_says_who_and_why_and_stores_nothing(app, admin):
    ids, client = admin
    rule = add_rule(app, to=ids["jonas"], countries=["SE"], description="Nordic desk")
    reference = make_enquiry(app, assignee_id=ids["helena"], email="returning@example.com")
    before = rules(app), audit_actions(app)
    page = client.get("/admin/rules/preview?sector=biotech&topic=talent&country=se&language=en")
    assert page.status_code == 200 and f"Jonas Berg</strong>\n      because rule #{rule} (Nordic desk)" in page.text
    page = client.get("/admin/rules/preview?sector=biotech&topic=talent&country=SE&language=en"
                      "&email=Returning%40Example.com")
    assert f"the investor&#39;s open enquiry {reference} is theirs" in page.text
    page = client.get("/admin/rules/preview?sector=medtech&topic=talent&country=DK&language=en")
    assert "lightest load" in page.text
    with app.app_context():
        from crm.staff.models import User

        assert {u.last_assigned_at for u in db.session.scalars(sa.select(User))} == {None}
    assert (rules(app), audit_actions(app)[:len(before[1])]) == before


@pytest.mark.parametrize("query", ["sector=oil&topic=talent&country=DK&language=en",
                                   "sector=medtech&topic=talent&country=XX&language=en",
                                   "sector=medtech&topic=talent&country=DK&language=fr",
                                   "sector=medtech&topic=talent&country=DK&language=en&email=not-an-email",
                                   "", "sector=medtech&country=" + "A" * 5000])
def test_a_bad_preview_is_422_never_500(app, admin, query):
    ids, client = admin
    assert client.get(f"/admin/rules/preview?{query}").status_code == 422


def test_a_nul_in_the_preview_is_refused_like_any_nul_in_a_query(app, admin):
    ids, client = admin
    assert client.get("/admin/rules/preview?sector=%00").status_code == 400
