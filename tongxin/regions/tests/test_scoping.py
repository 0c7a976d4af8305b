from tongxin.people.models import Resident
from tongxin.regions.models import Dwelling, Region


def names(qs):
    return sorted(qs.values_list("name", flat=True))


def test_each_role_sees_its_part_of_the_registry(world):
    # given residents in grid 1 (张三), grid 2 (李四) of community A, and grid 3 (王五) of community B
    u = world.users
    # then a subdistrict admin sees everything, community staff their community, a grid worker their grid
    assert names(Resident.objects.visible_to(u["admin"])) == ["张三", "李四", "王五"]
    assert names(Resident.objects.visible_to(u["staff_a"])) == ["张三", "李四"]
    assert names(Resident.objects.visible_to(u["staff_b"])) == ["王五"]
    assert names(Resident.objects.visible_to(u["grid_1"])) == ["张三"]
    assert names(Resident.objects.visible_to(u["grid_3"])) == ["王五"]
    # property staff serve 锦绣江山's dwellings but see none of its registry; nor do departments,
    # volunteers and residents
    assert Dwelling.objects.visible_to(u["property"]).filter(estate=world.estate_a).count() == 2
    for role in ("property", "department", "volunteer", "resident"):
        assert not Resident.objects.visible_to(u[role]).exists()


def test_everything_under_a_community_is_one_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        kinds = list(Region.objects.under(world.community_a).values_list("kind", flat=True))
    assert kinds.count("building") == 2 and kinds.count("entrance") == 2
    assert Dwelling.objects.filter(community=world.community_a).count() == 2


def test_grid_worker_regions_are_their_buildings(world):
    visible = Region.objects.visible_to(world.users["grid_1"])
    assert names(visible.filter(kind="building")) == ["3栋"]


def test_moving_an_estate_re_roots_its_whole_subtree(world):
    # given 富丰新城 with a building and an entrance under 大新社区
    entrance = Region.objects.get(kind="entrance", parent__parent=world.estate_b)
    # when the estate is moved to 满庭春社区
    world.estate_b.parent = world.community_a
    world.estate_b.save()
    # then the estate, its building and its entrance all sit under 满庭春社区, at the right depth
    entrance.refresh_from_db()
    assert entrance.path.startswith(world.community_a.path + f"{world.estate_b.pk}/")
    assert entrance.depth == 4
    under_a = set(Region.objects.under(world.community_a).values_list("pk", flat=True))
    assert {world.estate_b.pk, entrance.pk, entrance.parent_id} <= under_a
    assert not Region.objects.under(world.community_b).exclude(pk=world.community_b.pk).exists()
