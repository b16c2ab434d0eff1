# yaml.awk - flatten the simple YAML that cloud-init seeds use into lines
#   path<TAB>value
# e.g. "ethernets.eth0.addresses.0<TAB>10.0.0.5/24", "chpasswd.users.0.name<TAB>root".
#
# Supports: block maps, block sequences (also at the parent key's indent), maps inside
# sequence items ("- name: x"), flow collections ([a, b], {k: v}, nested), single- and
# double-quoted scalars, comments, literal/folded block scalars (one entry per line:
# path.0, path.1, ...), a one-line JSON document.  Anchors, tags and multi-line flow
# collections are not supported.  Written for busybox awk.
#
# Variables (awk -v):
#   strip=P    drop the prefix P from every path (network-config's optional "network.")
#   out=FILE   append the path<TAB>value lines to FILE instead of printing them
#   sh=PREFIX  print shell assignments for eval (one fork per document instead of one
#              per lookup): PREFIX_<path with [^A-Za-z0-9] as _>='value' (last one wins)
#              and, for sequences of scalars, PREFIX_<parent path>__list='v0<NL>v1...'

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function join(a, b) { return a == "" ? b : a "." b }
function emit(path, v,   name, parent) {
    gsub(/[\r\n]/, " ", v)
    if (strip != "" && index(path, strip) == 1) path = substr(path, length(strip) + 1)
    if (out != "") printf "%s\t%s\n", path, v >> out
    else if (sh == "") printf "%s\t%s\n", path, v
    if (sh == "") return
    name = path; gsub(/[^A-Za-z0-9]/, "_", name)
    if (!(name in SV)) SORDER[++NS] = name
    SV[name] = v
    if (match(path, /\.[0-9]+$/) && v != "") {
        parent = substr(path, 1, RSTART - 1); gsub(/[^A-Za-z0-9]/, "_", parent)
        if (!(parent in SL)) { LORDER[++NL] = parent; SL[parent] = v } else SL[parent] = SL[parent] "\n" v
    }
}
function shq(v) { gsub(/\047/, "\047\\\047\047", v); return "\047" v "\047" }

function strip_comment(s,   i, c, q, n) {
    q = ""; n = length(s)
    for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (q != "") {
            if (q == "\"" && c == "\\") i++
            else if (q == "'" && c == "'" && substr(s, i + 1, 1) == "'") i++
            else if (c == q) q = ""
            continue
        }
        if ((c == "\"" || c == "'") && (i == 1 || substr(s, i - 1, 1) ~ /[ \t[{,:]/)) { q = c; continue }
        if (c == "#" && (i == 1 || substr(s, i - 1, 1) ~ /[ \t]/)) return substr(s, 1, i - 1)
    }
    return s
}

# Scalar at FP in FSTR.  Plain scalars end at "," "]" "}" (flow context only) or at a
# ":" followed by a blank/end (key separator).
function fscalar(flowctx,   c, q, out, n, nx) {
    n = length(FSTR)
    c = substr(FSTR, FP, 1)
    if (c == "\"" || c == "'") {
        q = c; FP++; out = ""
        while (FP <= n) {
            c = substr(FSTR, FP, 1)
            if (q == "\"" && c == "\\") {
                FP++; c = substr(FSTR, FP, 1)
                if (c == "n") c = "\n"; else if (c == "t") c = "\t"; else if (c == "r") c = "\r"
                out = out c; FP++; continue
            }
            if (c == q) {
                if (q == "'" && substr(FSTR, FP + 1, 1) == "'") { out = out "'"; FP += 2; continue }
                FP++; break
            }
            out = out c; FP++
        }
        return out
    }
    out = ""
    while (FP <= n) {
        c = substr(FSTR, FP, 1)
        if (flowctx && (c == "," || c == "]" || c == "}")) break
        if (c == ":") {
            nx = substr(FSTR, FP + 1, 1)
            if (nx == "" || nx == " " || nx == "\t" || (flowctx && (nx == "," || nx == "]" || nx == "}"))) break
        }
        out = out c; FP++
    }
    return trim(out)
}

function fskip() { while (FP <= length(FSTR) && substr(FSTR, FP, 1) ~ /[ \t]/) FP++ }

function fparse(path,   c, n, k, before) {
    fskip(); c = substr(FSTR, FP, 1)
    if (c == "[") {
        FP++; n = 0
        while (FP <= length(FSTR)) {
            fskip(); c = substr(FSTR, FP, 1)
            if (c == "]") { FP++; return }
            before = FP
            fparse(join(path, n++))
            fskip(); if (substr(FSTR, FP, 1) == ",") FP++
            if (FP == before) FP++
        }
        return
    }
    if (c == "{") {
        FP++
        while (FP <= length(FSTR)) {
            fskip(); c = substr(FSTR, FP, 1)
            if (c == "}") { FP++; return }
            before = FP
            k = fscalar(1)
            fskip(); if (substr(FSTR, FP, 1) == ":") FP++
            fskip(); c = substr(FSTR, FP, 1)
            if (c == "," || c == "}" || c == "") emit(join(path, k), "")
            else fparse(join(path, k))
            fskip(); if (substr(FSTR, FP, 1) == ",") FP++
            if (FP == before) FP++
        }
        return
    }
    emit(path, fscalar(1))
}

function value(path, v) {
    if (v ~ /^[[{]/) { FSTR = v; FP = 1; fparse(path); return }
    FSTR = v; FP = 1
    if (v ~ /^["']/) { emit(path, fscalar(0)); return }
    emit(path, v)
}

# "key: value" -> KEY, VAL; returns 0 when s is not a map entry.
function split_kv(s,   q, m, rest) {
    q = substr(s, 1, 1)
    if (q == "\"" || q == "'") {
        FSTR = s; FP = 1; KEY = fscalar(0); rest = substr(s, FP)
        if (rest !~ /^[ \t]*:([ \t]|$)/) return 0
        sub(/^[ \t]*:/, "", rest); VAL = trim(rest); return 1
    }
    if (q == "[" || q == "{") return 0
    if (match(s, /:([ \t]|$)/)) { KEY = trim(substr(s, 1, RSTART - 1)); VAL = trim(substr(s, RSTART + 1)); return 1 }
    return 0
}

function handle_kv(ind,   path) {
    path = join(spath[sp], KEY)
    if (VAL == "") { pend = path; pind = ind; return }
    if (VAL ~ /^[|>][-+0-9]*$/) { blk = 1; blkind = ind; blkpath = path; blkn = 0; blkbase = -1; return }
    value(path, VAL)
}

function process(ind, s,   isitem, item, off, path) {
    isitem = (s ~ /^-([ \t]|$)/)
    if (sp == 0) { sp = 1; sind[1] = ind; spath[1] = ""; stype[1] = isitem ? "seq" : "map"; scount[1] = 0 }
    while (sp > 1 && ind < sind[sp]) sp--
    if (pend != "") {
        if (ind > pind || (ind == pind && isitem)) {
            sp++; sind[sp] = ind; spath[sp] = pend; stype[sp] = isitem ? "seq" : "map"; scount[sp] = 0
        } else emit(pend, "")
        pend = ""
    }
    if (sp > 1 && stype[sp] == "seq" && ind == sind[sp] && !isitem) sp--
    if (isitem) {
        if (stype[sp] != "seq") return
        path = join(spath[sp], scount[sp]++)
        item = trim(substr(s, 2))
        if (item == "") { pend = path; pind = ind; return }
        off = index(s, item) - 1
        if (split_kv(item)) {
            sp++; sind[sp] = ind + off; spath[sp] = path; stype[sp] = "map"; scount[sp] = 0
            handle_kv(ind + off)
            return
        }
        value(path, item)
        return
    }
    if (stype[sp] == "map" && split_kv(s)) { handle_kv(ind); return }
    if (sp == 1 && s ~ /^[[{]/) value("", s)
}

BEGIN { sp = 0; pend = ""; blk = 0 }
{
    line = $0; sub(/\r$/, "", line)
    if (blk) {
        if (line ~ /^[ \t]*$/) next
        match(line, /^ */); ind = RLENGTH
        if (ind > blkind) {
            if (blkbase < 0) blkbase = ind
            emit(join(blkpath, blkn++), substr(line, blkbase + 1))
            next
        }
        blk = 0
    }
    if (line ~ /^(---|\.\.\.)([ \t]|$)/ || line ~ /^%/) next
    match(line, /^ */); ind = RLENGTH
    s = trim(strip_comment(substr(line, ind + 1)))
    if (s == "") next
    process(ind, s)
}
END {
    if (pend != "") emit(pend, "")
    for (i = 1; i <= NS; i++) printf "%s_%s=%s\n", sh, SORDER[i], shq(SV[SORDER[i]])
    for (i = 1; i <= NL; i++) printf "%s_%s__list=%s\n", sh, LORDER[i], shq(SL[LORDER[i]])
}
