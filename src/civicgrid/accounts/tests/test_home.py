import pytest

from civicgrid.accounts.enums import Role

pytestmark = pytest.mark.django_db


def test_community_worker_home_shows_territory_chain_and_links(client, district, user_factory):
    community = district.communities[0]
    worker = user_factory(Role.COMMUNITY_WORKER, community)
    client.force_login(worker)
    text = client.get("/").content.decode()
    assert 'id="territory-chain"' in text
    for node in (district.district, district.streets[0], community):
        assert node.name in text
    assert 'data-key="territory"' in text and 'data-key="people"' in text
    assert 'data-key="audit"' not in text and 'data-key="admin"' not in text
    assert "read-only-notice" not in text


def test_audit_admin_home_leads_to_audit_page(client, district, user_factory):
    client.force_login(user_factory(Role.AUDIT_ADMIN, district.district))
    text = client.get("/").content.decode()
    assert 'data-key="audit"' in text and "/audit/" in text
    assert 'data-key="people"' not in text and 'data-key="admin"' not in text
    assert "read-only-notice" in text


def test_leader_home_is_read_only(client, district, user_factory):
    client.force_login(user_factory(Role.LEADER, district.district))
    text = client.get("/").content.decode()
    assert "read-only-notice" in text and "只读" in text


def test_admin_homes_link_to_admin(client, district, user_factory):
    client.force_login(user_factory(Role.SYSTEM_ADMIN, district.district))
    text = client.get("/").content.decode()
    assert 'data-key="users"' in text and 'data-key="admin"' in text and 'data-key="audit"' not in text
    client.force_login(user_factory(Role.SECURITY_ADMIN, district.district))
    text = client.get("/").content.decode()
    assert 'data-key="users"' in text and 'id="security-policy"' in text


def test_unbound_account_is_told(client, user_factory, db):
    client.force_login(user_factory(Role.GRID_CHIEF, None))
    assert 'id="no-area"' in client.get("/").content.decode()


def test_home_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_home_shows_the_scope_overview_and_groups_of_its_own_community_only(
    client, district, user_factory, django_assert_max_num_queries
):
    from civicgrid.people.models import Person, PersonTag

    mine, other = district.communities[0], district.communities[1]
    mine.population, mine.households = 321, 120
    mine.save(update_fields=["population", "households"])
    for i, community in enumerate((mine, mine, other)):
        grid = next(g for g in district.grids if g.parent_id == community.pk)
        person = Person.objects.create(
            name=f"居民{i}",
            gender="female",
            birth_date="1950-01-01",
            id_number_cipher="x",
            id_number_masked="x",
            id_number_digest=f"d{i}",
            grid=grid,
            area_code=grid.code,
        )
        PersonTag.objects.create(person=person, kind="elderly")
    client.force_login(user_factory(Role.COMMUNITY_WORKER, mine, username="home-kpi"))
    with django_assert_max_num_queries(12):
        html = client.get("/").content.decode()
    assert '<b id="kpi-population">321</b>' in html
    assert '<b id="kpi-grids">2</b>' in html
    assert 'data-tag="elderly"><b>2</b>' in html  # the other community's elderly resident is not counted
