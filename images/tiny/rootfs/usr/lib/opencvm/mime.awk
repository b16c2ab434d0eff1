# mime.awk - split a MIME multipart user-data document into its parts.
# Usage: awk -v dir=DIR -f mime.awk user-data
# Writes each part's body to DIR/part-N and prints one manifest line per part:
#   DIR/part-N<TAB>content-type<TAB>content-transfer-encoding<TAB>filename
# Written for busybox awk.

function lc(s) { return tolower(s) }
function hdr(line,   name) {
    # Returns "name:value" with a lower-case name, "" for a non-header line.
    if (!match(line, /^[A-Za-z0-9-]+:/)) return ""
    name = lc(substr(line, 1, RLENGTH - 1))
    return name ":" substr(line, RLENGTH + 1)
}
function param(v, p,   re, s) {
    re = p "=(\"[^\"]*\"|[^; \t]+)"
    if (!match(v, re)) { re = toupper(substr(p, 1, 1)) substr(p, 2) "=(\"[^\"]*\"|[^; \t]+)"; if (!match(v, re)) return "" }
    s = substr(v, RSTART + length(p) + 1, RLENGTH - length(p) - 1)
    gsub(/"/, "", s)
    return s
}
function flush_headers(   i, h, v) {
    # headers collected in H[1..nh]; sets CT, CTE, FN
    CT = ""; CTE = ""; FN = ""
    for (i = 1; i <= nh; i++) {
        h = H[i]; v = substr(h, index(h, ":") + 1); sub(/^[ \t]+/, "", v)
        if (h ~ /^content-type:/) { CT = v }
        else if (h ~ /^content-transfer-encoding:/) { CTE = lc(v) }
        else if (h ~ /^content-disposition:/) { FN = param(v, "filename") }
    }
    if (FN == "") FN = param(CT, "name")
    split(CT, a, ";"); CTYPE = lc(a[1]); gsub(/[ \t]/, "", CTYPE)
    gsub(/[ \t]/, "", CTE)
    nh = 0
}
BEGIN { state = "top"; nh = 0; n = 0; boundary = "" }
{
    sub(/\r$/, "")
    if (state == "top" || state == "phdr") {
        if ($0 ~ /^[ \t]/ && nh > 0) { H[nh] = H[nh] " " $0; next }
        if ($0 != "") { h = hdr($0); if (h != "") H[++nh] = h; next }
        flush_headers()
        if (state == "top") {
            boundary = param(CT, "boundary")
            if (boundary == "") exit 1
            state = "pre"
        } else {
            n++; out = dir "/part-" n
            printf "" > out
            printf "%s\t%s\t%s\t%s\n", out, CTYPE, CTE, FN
            state = "body"
        }
        next
    }
    if ($0 == "--" boundary "--") { if (state == "body") close(out); state = "end"; next }
    if ($0 == "--" boundary) { if (state == "body") close(out); state = "phdr"; nh = 0; next }
    if (state == "body") print > out
}
