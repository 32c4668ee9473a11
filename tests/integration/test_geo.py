"""GEO commands: every command and option compared with a real redis-server
7.0 (Pair), replies byte for byte (positions, distances, hashes, order):
the intent of Redis's tests/unit/geo.tcl, seeded random points and
searches, edge coordinates (poles, antimeridian, limits, scores GEOADD
never makes), all units, option combinations, wrong types, arities and bad
arguments; the keyspace events and the replication stream too."""
import itertools
import random

from dredis_test import Pair, RespError, assert_command_info_matches, wait_until
from test_notify import compare
from test_replication import assert_same_stream, run_all

GEO_COMMANDS = ["geoadd", "geodist", "geohash", "geopos", "georadius", "georadius_ro", "georadiusbymember",
                "georadiusbymember_ro", "geosearch", "geosearchstore"]

NYC = ["-73.9733487", "40.7648057", "central park n/q/r", "-73.9903085", "40.7362513", "union square",
       "-74.0131604", "40.7126674", "wtc one", "-73.7858139", "40.6428986", "jfk", "-73.9375699", "40.7498929", "q4",
       "-73.9564142", "40.7480973", "4545"]
SICILY = ["13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]


def fresh(p, key, *coords):
    p.run("DEL", key)
    if coords:
        return p.run("GEOADD", key, *coords)


# ---------------------------------------------------------------- geo.tcl, as pair tests

def test_geoadd_options_and_scores():
    with Pair() as p:
        assert p.run("GEOADD", "nyc", "-73.9454966", "40.747533", "lic market") == 1
        assert p.run("GEOADD", "nyc", "-73.9454966", "40.747533", "lic market") == 0
        assert p.run("GEOADD", "nyc", "CH", "40.747533", "-73.9454966", "lic market") == 1
        p.run("GEOPOS", "nyc", "lic market")
        assert p.run("GEOADD", "nyc", "NX", "-73.9454966", "40.747533", "lic market") == 0
        assert p.run("GEOADD", "nyc", "XX", "-83.9454966", "40.747533", "lic market") == 0
        p.run("GEOPOS", "nyc", "lic market")
        assert p.run("GEOADD", "nyc", "CH", "NX", "-73.9454966", "40.747533", "lic market") == 0
        assert p.run("GEOADD", "nyc", "CH", "XX", "-73.9454966", "40.747533", "lic market") == 1
        assert p.run("GEOADD", "nyc", "xx", "ch", "-73", "40", "absent") == 0
        assert p.run("GEOADD", "nyc", "nx", "ch", "ch", "-73", "40", "new") == 1
        p.run("ZREM", "nyc", "new")
        for bad in (["xx", "nx"], ["ch", "xx", "foo"], ["nx", "ch"], ["gt"], ["lt"], ["incr"]):
            p.run("GEOADD", "nyc", *bad, "-73.9454966", "40.747533", "lic market")
        p.run("GEOADD", "nyc", "-73.9454966", "40.747533", "lic market", "foo", "bar", "luck market")
        p.run("GEOADD", "nyc", "-73.9454966", "40.747533", "lic market", "1", "2")
        p.run("GEOADD", "nyc", "nx", "xx", "ch")
        assert p.run("GEOADD", "nyc", *NYC) == 6
        assert p.run("ZRANGE", "nyc", "0", "-1", "WITHSCORES") == [
            b"wtc one", b"1791873972053020", b"union square", b"1791875485187452", b"central park n/q/r",
            b"1791875761332224", b"4545", b"1791875796750882", b"lic market", b"1791875804419201", b"q4",
            b"1791875830079666", b"jfk", b"1791895905559723"]
        # one bad pair anywhere: nothing is added
        p.run("GEOADD", "nyc", "1", "1", "one", "181", "1", "two")
        assert p.run("ZSCORE", "nyc", "one") is None


def test_geo_tcl_searches():
    with Pair() as p:
        p.run("GEOADD", "nyc", "-73.9454966", "40.747533", "lic market", *NYC)
        assert p.run("GEORADIUS", "nyc", "-73.9798091", "40.7598464", "3", "km", "asc") == [
            b"central park n/q/r", b"4545", b"union square"]
        assert p.run("GEOSEARCH", "nyc", "fromlonlat", "-73.9798091", "40.7598464", "bybox", "6", "6", "km",
                     "asc") == [b"central park n/q/r", b"4545", b"union square", b"lic market"]
        assert p.run("GEORADIUS", "nyc", "-73.9798091", "40.7598464", "3", "km", "withdist", "asc") == [
            [b"central park n/q/r", b"0.7750"], [b"4545", b"2.3651"], [b"union square", b"2.7697"]]
        p.run("GEOSEARCH", "nyc", "fromlonlat", "-73.9798091", "40.7598464", "bybox", "6", "6", "km", "withdist",
              "asc")
        p.run("GEORADIUS", "nyc", "-73.9798091", "40.7598464", "10", "km", "COUNT", "3")
        assert p.run("GEORADIUS", "nyc", "-73.9798091", "40.7598464", "10", "km", "COUNT", "3", "ANY") == [
            b"wtc one", b"union square", b"central park n/q/r"]
        p.run("GEORADIUS", "nyc", "-73.9798091", "40.7598464", "10", "km", "COUNT", "3", "ANY", "ASC")
        p.run("GEORADIUS", "nyc", "-73.9798091", "40.7598464", "10", "km", "COUNT", "2", "DESC")
        p.run("GEORADIUS", "nyc", "-73.9798091", "40.7598464", "10", "km", "ANY", "ASC")
        p.run("GEORADIUS", "nyc", "-73.9798091", "40.7598464", "10", "km", "COUNT")
        assert p.run("GEORADIUSBYMEMBER", "nyc", "wtc one", "7", "km") == [
            b"wtc one", b"union square", b"central park n/q/r", b"4545", b"lic market"]
        assert p.run("GEORADIUSBYMEMBER", "nyc", "wtc one", "7", "km", "withdist") == [
            [b"wtc one", b"0.0000"], [b"union square", b"3.2544"], [b"central park n/q/r", b"6.7000"],
            [b"4545", b"6.1975"], [b"lic market", b"6.8969"]]
        p.run("GEOSEARCH", "nyc", "frommember", "wtc one", "bybox", "14", "14", "km")
        # HUGE radius (Redis issue #2767)
        p.run("GEOADD", "users", "-47.271613776683807", "-54.534504198047678", "user_000000")
        assert len(p.run("GEORADIUS", "users", "0", "0", "50000", "km", "WITHCOORD")) == 1
        # search areas reaching points in oblique directions, near the pole
        for coords, member, radius in ((["-0.15307903289794921875", "85", "n1", "0.3515625",
                                         "85.00019260486917005437", "n2"], "n1", "4891.94"),
                                       (["-4.95211958885192871094", "85", "n3", "11.25", "85.0511", "n4"], "n3",
                                        "156544"),
                                       (["-45", "65.50900022111811438208", "n5", "90", "85.0511", "n6"], "n5",
                                        "5009431"),
                                       (["45", "65", "n1", "-135", "85.05", "n2"], "n1", "5009431")):
            fresh(p, "k1", *coords)
            assert len(p.run("GEORADIUSBYMEMBER", "k1", member, radius, "m")) == 2
        fresh(p, "Sicily", *SICILY, "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "eage2")
        assert p.run("GEORADIUS", "Sicily", "15", "37", "200", "km", "asc") == [b"Catania", b"Palermo"]
        assert p.run("GEOSEARCH", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "asc") == [
            b"Catania", b"Palermo", b"eage2", b"edge1"]
        # long and narrow boxes
        fresh(p, "Sicily", "12.75", "36.995", "test1", "12.75", "36.50", "test2", "13.00", "36.50", "test3")
        assert p.run("GEOSEARCH", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "2", "km") == [b"test1"]
        p.run("GEOADD", "Sicily", "-1", "37.00", "test3")
        assert p.run("GEOSEARCH", "Sicily", "fromlonlat", "15", "37", "bybox", "3000", "2", "km", "asc") == [
            b"test1", b"test3"]
        # the corners of a box
        fresh(p, "Sicily", "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2", "17.250000",
              "35.202000", "edge3", "12.750000", "35.202000", "edge4", "12.748489955781654", "37", "edge5", "15",
              "38.798135872540925", "edge6", "17.251510044218346", "37", "edge7", "15", "35.201864127459075",
              "edge8", "12.692799634687903", "38.798135872540925", "corner1", "12.692799634687903",
              "38.798135872540925", "corner2", "17.200560937451133", "35.201864127459075", "corner3",
              "12.799439062548865", "35.201864127459075", "corner4")
        assert sorted(p.run("GEOSEARCH", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km",
                            "asc")) == [b"edge1", b"edge2", b"edge5", b"edge7"]
        # a box across the antimeridian
        fresh(p, "points", "179.5", "36", "point1", "-179.5", "36", "point2")
        assert p.run("GEOSEARCH", "points", "fromlonlat", "179", "37", "bybox", "400", "400", "km", "asc") == [
            b"point1", b"point2"]
        assert p.run("GEOSEARCH", "points", "fromlonlat", "-179", "37", "bybox", "400", "400", "km", "asc") == [
            b"point2", b"point1"]
        fresh(p, "points", "-122.407107", "37.794300", "1", "-122.227336", "37.794300", "2")
        assert p.run("GEORADIUS", "points", "-122.407107", "37.794300", "30", "mi", "ASC", "WITHDIST") == [
            [b"1", b"0.0001"], [b"2", b"9.8182"]]


def test_geohash_geopos_geodist():
    with Pair() as p:
        p.run("GEOADD", "points", "-5.6", "42.6", "test")
        assert p.run("GEOHASH", "points", "test") == [b"ezs42e44yx0"]
        fresh(p, "points", "10", "20", "a", "30", "40", "b")
        p.run("GEOPOS", "points", "a", "b")
        assert p.run("GEOPOS", "points", "a", "x", "b")[1] is None
        p.run("GEOPOS", "nokey", "a", "b")
        p.run("GEOHASH", "points", "a", "x", "b")
        p.run("GEOHASH", "nokey", "a")
        fresh(p, "points", *SICILY)
        assert p.run("GEODIST", "points", "Palermo", "Catania") == b"166274.1516"
        for unit in ("m", "km", "ft", "mi", "M", "KM", "Ft", "mI"):
            p.run("GEODIST", "points", "Palermo", "Catania", unit)
        assert p.run("GEODIST", "points", "Palermo", "Palermo") == b"0.0000"
        assert p.run("GEODIST", "points", "Palermo", "Agrigento") is None
        p.run("GEODIST", "points", "Ragusa", "Agrigento")
        p.run("GEODIST", "empty_key", "Palermo", "Catania")
        p.run("GEODIST", "points", "Palermo", "Catania", "yards")
        p.run("GEODIST", "points", "Palermo", "Catania", "km", "extra")
        p.run("GEODIST", "empty_key", "Palermo", "Catania", "yards")
        # RESP3: coordinates are doubles
        for c in (p.d, p.r):
            c.execute("HELLO", "3")
        p.run("GEOPOS", "points", "Palermo", "nope")
        p.run("GEOHASH", "points", "Palermo", "nope")
        p.run("GEODIST", "points", "Palermo", "nope")
        p.run("GEORADIUS", "points", "15", "37", "200", "km", "WITHCOORD", "WITHDIST", "WITHHASH")


def test_geo_store_variants():
    with Pair() as p:
        fresh(p, "points", *SICILY)
        p.run("GEORADIUS", "points", "13.361389", "38.115556", "50", "km", "store")
        p.run("GEOSEARCHSTORE", "abc", "points", "fromlonlat", "13.361389", "38.115556", "byradius", "50", "km",
              "store", "abc")
        for opt in ("withdist", "withhash", "withcoord"):
            p.run("GEORADIUS", "points", "13.361389", "38.115556", "50", "km", "store", "points2", opt)
            p.run("GEOSEARCHSTORE", "points2", "points", "fromlonlat", "13", "38", "byradius", "50", "km", opt)
        p.run("GEORADIUS_RO", "points", "13.361389", "38.115556", "500", "km", "store", "points2")
        p.run("GEORADIUSBYMEMBER_RO", "points", "Palermo", "500", "km", "storedist", "points2")
        p.run("GEOSEARCH", "points", "fromlonlat", "13", "38", "byradius", "500", "km", "storedist")
        p.run("GEOSEARCH", "points", "fromlonlat", "13", "38", "byradius", "500", "km", "store", "x")
        assert p.run("EXISTS", "points2") == 0
        stores = [
            ("GEORADIUS", "points", "13.361389", "38.115556", "500", "km", "store", "points2"),
            ("GEORADIUSBYMEMBER", "points", "Palermo", "500", "km", "store", "points2"),
            ("GEORADIUSBYMEMBER", "points", "Catania", "500", "km", "storedist", "points2"),
            ("GEORADIUS", "points", "13.361389", "38.115556", "500", "km", "storedist", "points2"),
            ("GEOSEARCHSTORE", "points2", "points", "fromlonlat", "13.361389", "38.115556", "byradius", "500", "km"),
            ("GEOSEARCHSTORE", "points2", "points", "fromlonlat", "13.361389", "38.115556", "byradius", "500", "km",
             "storedist"),
            ("GEORADIUS", "points", "13.361389", "38.115556", "500", "km", "storedist", "points2", "asc", "count", "1"),
            ("GEORADIUS", "points", "13.361389", "38.115556", "500", "km", "storedist", "points2", "desc", "count",
             "1"),
            ("GEOSEARCHSTORE", "points2", "points", "frommember", "Palermo", "bybox", "500", "500", "mi", "count",
             "1", "any", "storedist"),
            ("GEORADIUS", "points", "13.361389", "38.115556", "500", "ft", "store", "points2"),
        ]
        for cmd in stores:
            p.run("SET", "points2", "was a string", "EX", "1000")
            p.run(*cmd)
            p.run("ZRANGE", "points2", "0", "-1", "WITHSCORES")
            p.run("TYPE", "points2")
            p.run("TTL", "points2")
        # an empty result deletes the destination; the source may be it
        p.run("GEORADIUS", "points", "0", "0", "1", "km", "store", "points2")
        assert p.run("EXISTS", "points2") == 0
        p.run("GEOSEARCHSTORE", "points", "points", "frommember", "Catania", "byradius", "1", "m")
        p.run("ZRANGE", "points", "0", "-1", "WITHSCORES")
        p.run("GEORADIUS", "nokey", "0", "0", "1", "km", "store", "points")
        assert p.run("EXISTS", "points") == 0


def test_geo_wrong_type_missing_key_and_member():
    with Pair() as p:
        def edge_cases():
            for cmd in (("GEORADIUS", "src", "1", "1", "1", "km"),
                        ("GEORADIUS", "src", "1", "1", "1", "km", "store", "dest"),
                        ("GEOSEARCH", "src", "fromlonlat", "0", "0", "byradius", "1", "km"),
                        ("GEOSEARCHSTORE", "dest", "src", "fromlonlat", "0", "0", "byradius", "1", "km"),
                        ("GEORADIUSBYMEMBER", "src", "member", "1", "km"),
                        ("GEORADIUSBYMEMBER", "src", "member", "1", "km", "store", "dest"),
                        ("GEORADIUSBYMEMBER", "src", "member", "bad", "km"),
                        ("GEORADIUSBYMEMBER", "src", "member", "1", "km", "bogus"),
                        ("GEOSEARCH", "src", "frommember", "member", "bybox", "1", "1", "km"),
                        ("GEOSEARCHSTORE", "dest", "src", "frommember", "member", "bybox", "1", "1", "m"),
                        ("GEOSEARCH", "src", "frommember", "member", "bybox", "-1", "1", "km"),
                        ("GEOPOS", "src", "member"), ("GEOHASH", "src", "member"),
                        ("GEODIST", "src", "member", "other"), ("GEOADD", "src", "1", "1", "member")):
                p.run("SET", "dest", "x")
                p.run(*cmd)
                p.run("EXISTS", "dest")
        p.run("SET", "src", "wrong_type")
        edge_cases()
        p.run("DEL", "src")
        edge_cases()
        p.run("DEL", "src")
        p.run("GEOADD", "src", *SICILY)
        edge_cases()


def test_geo_bad_arguments():
    with Pair() as p:
        p.run("GEOADD", "k", *SICILY)
        cases = [
            ("GEOADD",), ("GEOADD", "k"), ("GEOADD", "k", "1", "2"), ("GEOADD", "k", "1", "2", "m", "3"),
            ("GEOADD", "k", "x", "2", "m"), ("GEOADD", "k", "1", "y", "m"), ("GEOADD", "k", "nan", "1", "m"),
            ("GEOADD", "k", "180.0001", "1", "m"), ("GEOADD", "k", "-180.0001", "1", "m"),
            ("GEOADD", "k", "1", "85.05112879", "m"), ("GEOADD", "k", "1", "-85.05112879", "m"),
            ("GEOADD", "k", "inf", "1", "m"), ("GEOADD", "k", " 1", "1", "m"), ("GEOADD", "k", "1e400", "1", "m"),
            ("GEODIST", "k", "Palermo"), ("GEOHASH",), ("GEOPOS",),
            ("GEORADIUS", "k", "1", "2", "3"), ("GEORADIUS_RO", "k", "1", "2", "3"),
            ("GEORADIUSBYMEMBER", "k", "Palermo", "3"), ("GEORADIUSBYMEMBER_RO", "k", "Palermo", "3"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "2", "byradius"),
            ("GEOSEARCHSTORE", "d", "k", "fromlonlat", "1", "2", "byradius"),
            ("GEORADIUS", "k", "1", "2", "x", "km"), ("GEORADIUS", "k", "1", "2", "-1", "km"),
            ("GEORADIUS", "k", "1", "2", "1", "parsec"), ("GEORADIUS", "k", "200", "2", "1", "km"),
            ("GEORADIUS", "k", "1", "2", "1", "km", "COUNT", "0"),
            ("GEORADIUS", "k", "1", "2", "1", "km", "COUNT", "-3"),
            ("GEORADIUS", "k", "1", "2", "1", "km", "COUNT", "x"),
            ("GEORADIUS", "k", "1", "2", "1", "km", "COUNT", "99999999999999999999"),
            ("GEORADIUS", "k", "1", "2", "1", "km", "ANY"),
            ("GEORADIUS", "k", "1", "2", "1", "km", "frommember", "Palermo"),
            ("GEORADIUS", "k", "1", "2", "1", "km", "store"),
            ("GEORADIUS", "k", "1", "2", "1", "km", "withdist", "wat"),
            ("GEORADIUSBYMEMBER", "k", "nope", "1", "km"), ("GEORADIUSBYMEMBER", "k", "Palermo", "1", "yd"),
            ("GEOSEARCH", "k", "fromlonlat", "-73.9798091", "40.7598464", "frommember", "xxx", "bybox", "6", "6",
             "km", "asc"),
            ("GEOSEARCH", "k", "frommember", "Palermo", "fromlonlat", "1", "1", "bybox", "6", "6", "km"),
            ("GEOSEARCH", "k", "bybox", "3", "3", "km", "asc", "desc", "withhash", "withdist", "withcoord"),
            ("geosearch", "k", "bybox", "3", "3", "km"), ("GeoSearchStore", "d", "k", "byradius", "3", "km"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "byradius", "3", "km", "bybox", "3", "3", "km", "asc"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "bybox", "3", "3", "km", "byradius", "3", "km"),
            ("GEOSEARCH", "k", "fromlonlat", "-73.9798091", "40.7598464", "asc", "desc", "withhash"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "bybox", "6", "6", "km", "asc", "storedist"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "bybox", "x", "6", "km"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "bybox", "6", "y", "km"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "bybox", "x", "y", "parsec"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "bybox", "-6", "6", "km"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "bybox", "6", "6", "furlong"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "bybox", "6", "6"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "100", "bybox", "6", "6", "km"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "x", "bybox", "6", "6", "km"),
            ("GEOSEARCH", "k", "fromlonlat", "1", "1", "byradius", "x", "km"),
            ("GEOSEARCH", "k", "frommember", "nope", "byradius", "-1", "km"),
            ("GEOSEARCH", "k", "frommember", "Palermo", "byradius", "1", "km", "count", "2", "any", "any", "count",
             "0"),
            ("GEOSEARCH", "k", "frommember", "Palermo", "byradius", "1", "km", "store", "d"),
            ("GEOSEARCHSTORE", "d", "k", "frommember", "Palermo", "byradius", "1", "km", "withcoord"),
            ("GEOSEARCHSTORE", "d", "k", "frommember", "Palermo", "byradius", "1", "km", "storedist", "d"),
            ("GEOSEARCHSTORE", "d", "k", "frommember", "Palermo", "byradius", "1", "km", "count", "1", "any", "x"),
        ]
        for cmd in cases:
            r = p.run(*cmd)
            assert isinstance(r, RespError), (cmd, r)
        # no member named: an empty array
        assert p.run("GEOPOS", "k") == []
        assert p.run("GEOHASH", "k") == []


def test_geo_edge_coordinates():
    with Pair() as p:
        limits = ["180", "85.05112878", "ne", "-180", "-85.05112878", "sw", "180", "-85.05112878", "se",
                  "-180", "85.05112878", "nw", "0", "0", "origin", "-0", "-0", "negzero", "179.9999999", "0", "east",
                  "-179.9999999", "0", "west", "0.000001", "-0.000001", "tiny", "1e-300", "1e-300", "denormal",
                  "13.361389e0", "3.8115556E1", "exp"]
        assert p.run("GEOADD", "g", *limits) == 11
        names = limits[2::3]
        p.run("ZRANGE", "g", "0", "-1", "WITHSCORES")
        p.run("GEOPOS", "g", *names)
        p.run("GEOHASH", "g", *names)
        for a in names:
            for b in names:
                p.run("GEODIST", "g", a, b, "km")
        # scores GEOADD never makes decode as Redis decodes them
        p.run("ZADD", "odd", "-1", "neg", "0", "zero", "4503599627370495", "max52", "4503599627370496", "bit52",
              "1e17", "big", "1e30", "huge", "inf", "inf", "-inf", "-inf", "-1e19", "verybig", "1.5", "frac",
              "9.3e18", "over63", "-9.3e18", "under63")
        odd = ["neg", "zero", "max52", "bit52", "big", "huge", "inf", "-inf", "verybig", "frac", "over63",
               "under63"]
        p.run("GEOPOS", "odd", *odd)
        p.run("GEOHASH", "odd", *odd)
        p.run("GEODIST", "odd", "neg", "huge")
        p.run("GEORADIUS", "odd", "0", "0", "20000", "km", "WITHHASH", "WITHCOORD", "WITHDIST", "ASC")
        p.run("GEOSEARCH", "odd", "frommember", "bit52", "bybox", "40000", "40000", "km", "WITHHASH", "DESC")
        # searches at the limits: poles, antimeridian, huge and zero sizes
        centers = [("180", "85.05112878"), ("-180", "-85.05112878"), ("0", "0"), ("180", "0"), ("-180", "0"),
                   ("179.9", "-60"), ("-179.9", "80")]
        for lon, lat in centers:
            for size in ("0", "1", "1000", "5000000", "20000000", "40000000", "inf"):
                p.run("GEOSEARCH", "g", "fromlonlat", lon, lat, "byradius", size, "m", "WITHDIST", "WITHHASH")
                p.run("GEOSEARCH", "g", "fromlonlat", lon, lat, "bybox", size, size, "m", "WITHCOORD")
                p.run("GEOSEARCH", "g", "fromlonlat", lon, lat, "bybox", size, "10", "km", "ASC")
        for m in names:
            p.run("GEORADIUSBYMEMBER", "g", m, "10000", "km", "ASC", "WITHDIST")
            p.run("GEOSEARCH", "g", "frommember", m, "bybox", "30000", "500", "km", "DESC", "WITHDIST")


def random_coord(rng, lat_span=85.05112878):
    return "%.10f" % rng.uniform(-180, 180), "%.10f" % rng.uniform(-lat_span, lat_span)


def test_geo_random_points_and_searches():
    rng = random.Random(20261207)
    with Pair() as p:
        args = []
        for i in range(1500):
            lon, lat = random_coord(rng)
            args += [lon, lat, "place:%d" % i]
        # a dense cluster, so that small radii find something
        for i in range(500):
            args += ["%.10f" % rng.uniform(12.5, 17.5), "%.10f" % rng.uniform(35, 40), "near:%d" % i]
        for i in range(0, len(args), 600):
            p.run("GEOADD", "pts", *args[i:i + 600])
        p.run("ZCARD", "pts")
        members = args[2::3]
        units = ["m", "km", "ft", "mi"]
        # Redis's regression vectors (km, lon, lat) first, then random ones
        vectors = [(7083, "81.634948934258375", "30.561509253718668"),
                   (5416, "-70.863281847379767", "-46.347003465679947"),
                   (6064, "-89.818768962202014", "-40.463868561416803"),
                   (156, "149.29737817929004", "15.95807862745508"), (143, "59.235461856813856", "66.269555127373678"),
                   (187, "-101.88575239939883", "49.061997951502917"),
                   (154, "-90.187939661642517", "66.615930412251487"),
                   (145, "163.03472387745728", "64.012747720821181"),
                   (149, "84.062063109158544", "-65.685403922426232"),
                   (16751, "-1.8175081637769495", "20.665668878082954")]
        for km, lon, lat in vectors:
            p.run("GEOSEARCH", "pts", "fromlonlat", lon, lat, "byradius", str(km), "km")
            p.run("GEOSEARCH", "pts", "fromlonlat", lon, lat, "bybox", str(km), str(km), "km")
        commands = []
        for _ in range(160):
            unit = rng.choice(units)
            scale = {"m": 1000, "km": 1, "ft": 3280.84, "mi": 0.621371}[unit]
            km = rng.choice([rng.uniform(1, 50), rng.uniform(10, 300), rng.uniform(100, 6000)])
            size = "%.3f" % (km * scale)
            if rng.random() < 0.4:
                lon, lat = "%.6f" % rng.uniform(12, 18), "%.6f" % rng.uniform(34, 41)
            else:
                lon, lat = random_coord(rng)
            opts = [o for o in ("WITHDIST", "WITHHASH", "WITHCOORD") if rng.random() < 0.4]
            opts += rng.choice([[], ["ASC"], ["DESC"]])
            if rng.random() < 0.4:
                opts += ["COUNT", str(rng.randint(1, 30))] + (["ANY"] if rng.random() < 0.4 else [])
            rng.shuffle(opts) if "COUNT" not in opts else None
            member = rng.choice(members)
            kind = rng.randrange(6)
            if kind == 0:
                commands.append(["GEORADIUS", "pts", lon, lat, size, unit] + opts)
            elif kind == 1:
                commands.append(["GEORADIUS_RO", "pts", lon, lat, size, unit] + opts)
            elif kind == 2:
                commands.append(["GEORADIUSBYMEMBER", "pts", member, size, unit] + opts)
            elif kind == 3:
                commands.append(["GEOSEARCH", "pts", "FROMMEMBER", member, "BYRADIUS", size, unit] + opts)
            else:
                height = "%.3f" % (float(size) * rng.uniform(0.2, 3))
                commands.append(["GEOSEARCH", "pts", "FROMLONLAT", lon, lat, "BYBOX", size, height, unit] + opts)
        found = sum(len(r) for r in p.run_many(commands) if isinstance(r, list))
        assert found > 1000, found
        stores = []
        for _ in range(30):
            member = rng.choice(members)
            size = "%.1f" % rng.uniform(50, 2000)
            extra = rng.choice([[], ["STOREDIST"], ["COUNT", "7"], ["COUNT", "7", "ANY", "DESC"]])
            stores.append(["GEOSEARCHSTORE", "dst", "pts", "FROMMEMBER", member, "BYRADIUS", size, "km"] + extra)
            stores.append(["ZRANGE", "dst", "0", "-1", "WITHSCORES"])
        p.run_many(stores)
        p.run_many([["GEOPOS", "pts"] + members[:300], ["GEOHASH", "pts"] + members[:300]])
        p.run_many([["GEODIST", "pts", rng.choice(members), rng.choice(members), rng.choice(units)]
                    for _ in range(200)])


def test_geo_keyspace_events():
    compare([("GEOADD", "g", *SICILY), ("GEOADD", "g", *SICILY), ("GEOADD", "g", "CH", "1", "1", "Palermo"),
             ("GEOADD", "g", "XX", "1", "1", "absent"),
             ("GEORADIUS", "g", "15", "37", "300", "km", "STORE", "d1"),
             ("GEORADIUSBYMEMBER", "g", "Catania", "300", "km", "STOREDIST", "d1"),
             ("GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km"),
             ("GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
             ("GEORADIUS", "nokey", "15", "37", "300", "km", "STORE", "d1"),
             ("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km")])


def test_geo_replication_stream():
    assert_same_stream(run_all([
        ("GEOADD", "g", *SICILY), ("GEOADD", "g", "CH", "NX", "1", "1", "Palermo", "2", "2", "Agrigento"),
        ("GEOADD", "g", "xx", "ch", "1", "1", "Palermo"), ("GEOADD", "g", "XX", "1", "1", "absent"),
        ("GEOADD", "g", "181", "1", "bad"),
        ("GEORADIUS", "g", "15", "37", "300", "km", "STORE", "d1"),
        ("GEORADIUS", "g", "15", "37", "300", "km"),
        ("GEORADIUSBYMEMBER", "g", "Catania", "300", "km", "STOREDIST", "d1", "COUNT", "1"),
        ("GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "15", "37", "BYBOX", "300", "300", "km", "STOREDIST"),
        ("GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
        ("GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
        ("MULTI",), ("GEOADD", "t", "1", "2", "a"), ("GEORADIUS", "t", "1", "2", "1", "km", "STORE", "t2"),
        ("EXEC",),
        ("EVAL", "redis.call('geoadd', KEYS[1], 3, 4, 'b'); return redis.call('geosearchstore', KEYS[2], KEYS[1], "
                 "'frommember', 'b', 'byradius', 1, 'm')", "2", "t", "t3"),
    ]))


def test_geo_in_scripts_and_transactions():
    with Pair() as p:
        p.run("EVAL", "redis.call('geoadd', KEYS[1], 13.361389, 38.115556, 'Palermo'); "
                      "return {redis.call('geopos', KEYS[1], 'Palermo', 'x'), "
                      "redis.call('geohash', KEYS[1], 'Palermo'), redis.call('georadius', KEYS[1], 13, 38, 100, 'km', 'withdist', 'withcoord', 'withhash')}",
              "1", "s")
        p.run("EVAL", "return redis.pcall('geoadd', KEYS[1], 200, 1, 'x')", "1", "s")
        p.run("EVAL_RO", "return redis.pcall('georadius', KEYS[1], 13, 38, 100, 'km')", "1", "s")
        p.run("EVAL_RO", "return redis.call('georadius_ro', KEYS[1], 13, 38, 100, 'km')", "1", "s")
        p.run_many([("MULTI",), ("GEOADD", "s", "15.087269", "37.502669", "Catania"), ("GEODIST", "s", "Palermo",
                    "Catania", "mi"), ("GEOADD", "s", "x", "1", "bad"), ("EXEC",)])
        p.run_many([("MULTI",), ("GEOADD", "s"), ("EXEC",)])


def test_geo_command_info():
    with Pair() as p:
        assert_command_info_matches(p, GEO_COMMANDS)
        d, r = p.both("COMMAND", "DOCS", *GEO_COMMANDS)
        dd, rd = dict(zip(d[::2], d[1::2])), dict(zip(r[::2], r[1::2]))
        for n in GEO_COMMANDS:
            a = dict(zip(dd[n.encode()][::2], dd[n.encode()][1::2]))
            b = dict(zip(rd[n.encode()][::2], rd[n.encode()][1::2]))
            assert a[b"arguments"] == b[b"arguments"], n
            assert a[b"complexity"] == b[b"complexity"], n
        # the STORE/STOREDIST destinations are keys too (movablekeys)
        for cmd in (("GEORADIUS", "k", "1", "1", "1", "km", "STORE", "dst", "storedist", "d2"),
                    ("GEORADIUS", "k", "1", "1", "1", "km", "storedist", "d2", "STORE", "dst"),
                    ("GEORADIUS", "k", "1", "1", "1", "km", "withdist", "store", "store", "dst"),
                    ("GEORADIUS", "k", "1", "1", "1", "km", "store"), ("GEORADIUS", "k", "1", "1", "1", "km"),
                    ("GEORADIUS_RO", "k", "1", "1", "1", "km", "STORE", "dst"),
                    ("GEORADIUSBYMEMBER", "k", "m", "1", "km", "storedist", "d2"),
                    ("GEORADIUSBYMEMBER", "k", "store", "1", "km"),
                    ("GEOSEARCHSTORE", "d", "k", "frommember", "m", "byradius", "1", "km"),
                    ("GEOADD", "k", "1", "1", "m"), ("GEODIST", "k", "a", "b")):
            p.run("COMMAND", "GETKEYS", *cmd)


def test_geo_index_larger_than_the_cache():
    """A set over DREDIS_ZSET_CACHE_MEMBERS is searched through a temporary
    index: the same answers."""
    rng = random.Random(7)
    with Pair(env={"DREDIS_ZSET_CACHE_MEMBERS": "10"}) as p:
        args = []
        for i in range(300):
            args += ["%.8f" % rng.uniform(10, 20), "%.8f" % rng.uniform(30, 45), "m%d" % i]
        p.run("GEOADD", "big", *args)
        p.run_many([["GEOSEARCH", "big", "FROMLONLAT", "%.4f" % rng.uniform(10, 20), "%.4f" % rng.uniform(30, 45),
                     "BYRADIUS", str(rng.randint(10, 800)), "km", "WITHDIST"] for _ in range(20)])
        p.run("GEOSEARCHSTORE", "big", "big", "FROMMEMBER", "m1", "BYBOX", "500", "500", "km", "COUNT", "5")
        p.run("ZRANGE", "big", "0", "-1", "WITHSCORES")


def test_geoadd_wakes_a_blocked_zset_pop():
    with Pair() as p:
        waiting = []
        for server in (p.dredis, p.redis):
            c = server.client()
            c.send("BZPOPMIN", "g", "10")
            waiting.append(c)
        for c in (p.d, p.r):
            wait_until(lambda: b"blocked_clients:1" in c.execute("INFO", "clients"), what="a blocked client")
        p.run("GEOADD", "g", *SICILY)
        got = [c.read_reply() for c in waiting]
        for c in waiting:
            c.close()
        assert got[0] == got[1] == [b"g", b"Palermo", b"3479099956230698"], got


def test_geo_writes_touch_watched_keys():
    with Pair() as p:
        p.run("GEOADD", "src", *SICILY)
        for write in (("GEOADD", "w", "1", "1", "a"),
                      ("GEOSEARCHSTORE", "w", "src", "FROMMEMBER", "Palermo", "BYRADIUS", "500", "km"),
                      ("GEORADIUS", "src", "15", "37", "500", "km", "STOREDIST", "w"),
                      ("GEORADIUS", "src", "0", "0", "1", "km", "STORE", "w")):
            watchers = [s.client() for s in (p.dredis, p.redis)]
            for c in watchers:
                assert c.execute("WATCH", "w") == "OK"
                assert c.execute("MULTI") == "OK"
                c.execute("GET", "other")
            p.run(*write)
            got = [c.execute("EXEC") for c in watchers]
            for c in watchers:
                c.close()
            assert got[0] == got[1] is None, (write, got)


def test_geo_every_option_combination():
    """Each search form with every combination of WITH* options, order and
    COUNT [ANY], in RESP2 and RESP3."""
    import itertools
    with Pair() as p:
        p.run("GEOADD", "nyc", "-73.9454966", "40.747533", "lic market", *NYC)
        forms = [("GEORADIUS", "nyc", "-73.9798091", "40.7598464", "10", "km"),
                 ("GEORADIUS_RO", "nyc", "-73.9798091", "40.7598464", "6", "mi"),
                 ("GEORADIUSBYMEMBER", "nyc", "wtc one", "7000", "m"),
                 ("GEORADIUSBYMEMBER_RO", "nyc", "q4", "30000", "ft"),
                 ("GEOSEARCH", "nyc", "FROMLONLAT", "-73.9798091", "40.7598464", "BYRADIUS", "10", "km"),
                 ("GEOSEARCH", "nyc", "FROMMEMBER", "jfk", "BYBOX", "40", "20", "km")]
        withs = ("WITHDIST", "WITHHASH", "WITHCOORD")
        commands = []
        for form in forms:
            for n in range(4):
                for with_opts in itertools.combinations(withs, n):
                    for order in ((), ("ASC",), ("DESC",)):
                        for count in ((), ("COUNT", "2"), ("COUNT", "2", "ANY"), ("COUNT", "100")):
                            commands.append(form + with_opts + order + count)
                            commands.append(form + count + order + tuple(reversed(with_opts)))
        for proto in ("2", "3"):
            for c in (p.d, p.r):
                c.execute("HELLO", proto)
            p.run_many(commands)
