"""CSV files and the read options that parse them, shared by the streaming-inference
tests (``test_tabular``) and the PostgreSQL round trips (``test_postgres_load``): each
is a case both must get exactly as ``pandas.read_csv`` does."""

CSV_CASES = {
    'nan_and_empty': (
        'a,b,c\n1,x,\n2,,""\n3,"",z\n',
        {}),
    'keep_default_na_false': (
        'a,b\n1,x\n2,\n3,""\n4,NA\n',
        {'keep_default_na': False}),
    'unicode_emoji': (
        'name,v\nJosé,1\n東京,2\n😀 smile,3\nnaïve,4\n',
        {}),
    'quoted_commas_newlines': (
        'a,b\n1,"x, y"\n2,"line\nbreak"\n3,"say ""hi"""\n4,"tab\there"\n',
        {}),
    'large_ints': (
        'a\n9223372036854775807\n-9223372036854775808\n9007199254740993\n',
        {}),
    'negative_floats_1e21': (
        'a,b\n-0.5,1e21\n-1e-300,-1e21\n3.25,0.1\n-0.0,5e-324\n',
        {}),
    'booleans': (
        'a,b\nTrue,False\nfalse,true\nTRUE,FALSE\n',
        {}),
    'bool_with_gap': (
        'a,b\n1,True\n2,\n3,False\n4,True\n',
        {}),
    'dates_as_strings': (
        'd,v\n2024-01-01,1\n2024-02-29,2\n2024-03-01,3\n',
        {}),
    'parse_dates': (
        'd,v\n2024-01-01,1\n,2\n2024-03-01 10:30:00,3\n',
        {'parse_dates': ['d']}),
    'parse_dates_ok': (
        'd,v\n2024-01-01,1\n,2\n2024-03-01,3\n2024-03-02,4\n',
        {'parse_dates': ['d']}),
    'parse_dates_tz': (
        'd\n2024-01-01T10:00:00+02:00\n2024-01-02T00:00:00.5+02:00\n\n2024-01-03T00:00:00+02:00\n',
        {'parse_dates': ['d']}),
    'int_with_gap': (
        'a,b\n1,1\n2,\n3,3\n4,4\n',
        {}),
    'sep_semicolon': (
        'a;b\n1;x, y\n2;y\n3;z\n',
        {'sep': ';'}),
    'thousands': (
        'a,b\n"1,000",1\n2,2\n"3,000,000",3\n',
        {'thousands': ','}),
    'decimal_comma': (
        'a;b\n1,5;x\n-2,25;y\n3;z\n',
        {'sep': ';', 'decimal': ','}),
    'na_values': (
        'a,b\n1,NA\n2,missing\n3,5\n',
        {'na_values': ['missing']}),
    'dtype_Int64': (
        'a,x\n1,1\n2,\n3,3\n4,9007199254740993\n',
        {'dtype': {'x': 'Int64'}}),
    'header_none_names': (
        '1,2\n3,4\n5,6\n',
        {'header': None, 'names': ['p', 'q']}),
    'header_none': (
        '1,x\n3,y\n5,z\n',
        {'header': None}),
    'text_and_numbers': (
        'a,b\n1,007\n2,8\n3,x\n4,1.50\n',
        {}),
    'all_missing': (
        'a,b\n1,\n2,\n3,\n',
        {}),
    'header_only': (
        'a,b\n',
        {}),
    'category': (
        'a,b\n1,y\n2,x\n3,y\n',
        {'dtype': {'b': 'category'}}),
    'dtype_str': (
        'a,b\n1,x\n2,\n007,y\n',
        {'dtype': str}),
    'dtype_float32_int32': (
        'a,b\n1,0.1\n2,1.5\n',
        {'dtype': {'a': 'int32', 'b': 'float32'}}),
    'uint64': (
        'a\n18446744073709551615\n1\n',
        {}),
    'skipfooter': (
        'a,b\n1,x\n2,y\n3,z\ntotal,3\n',
        {'skipfooter': 1, 'engine': 'python'}),
    'nan_and_empty_variant': (
        'a,b\n1,x\n2,\n3,""\n4,z\n',
        {}),
    'keep_default_na_false_variant': (
        'a,b\n1,x\n2,\n3,""\n4,z\n',
        {'keep_default_na': False}),
    'unicode_emoji_variant': (
        'name,v\nJosé,1\n東京,2\n😀 smile,3\n',
        {}),
    'quoted_commas_newlines_variant': (
        'a,b\n1,"x, y"\n2,"line\nbreak"\n3,"say ""hi"""\n',
        {}),
    'negative_floats_1e21_variant': (
        'a,b\n-0.5,1e21\n-1e-300,-1e21\n3.25,0.1\n',
        {}),
    'parse_dates_iso': (
        'd,v\n2024-01-01,1\n2024-01-02,2\n2024-01-05,3\n2024-02-01,4\n',
        {'parse_dates': ['d']}),
    'sep_semicolon_variant': (
        'a;b\n1;x\n2;y\n3;z\n',
        {'sep': ';'}),
    'dtype_str_everything': (
        'a,b\n1,x\n2,\n007,y\n',
        {'dtype': str}),
    'skiprows_comment': (
        '# made by hand\na,b\n1,x # note\n2,y\n',
        {'skiprows': 1, 'comment': '#'}),
    'true_false_values': (
        'a,b\nyes,1\nno,2\nyes,3\n',
        {'true_values': ['yes'], 'false_values': ['no']}),
}
