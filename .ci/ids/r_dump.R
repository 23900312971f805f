# Runs R one-liners and dumps their id columns for compare.py.
# usage: Rscript r_dump.R JOBS.tsv   (run in the export folder)
# Each line of JOBS.tsv is DUMP_DIR <TAB> ID_COLUMNS <TAB> EXPR; the id
# columns of the data frame EXPR gives go to DUMP_DIR/<column>.txt: numbers
# as the exact decimal of the double, strings as is, \N for NA.
for (job in readLines(commandArgs(trailingOnly = TRUE)[1], encoding = "UTF-8")) {
  f <- strsplit(job, "\t", fixed = TRUE)[[1]]
  df <- eval(parse(text = f[3]))
  dir.create(f[1], showWarnings = FALSE, recursive = TRUE)
  for (c in strsplit(f[2], ",", fixed = TRUE)[[1]]) {
    x <- df[[c]]
    s <- if (is.numeric(x)) sprintf("%.0f", x) else as.character(x)
    s[is.na(x)] <- "\\N"
    writeLines(s, file.path(f[1], paste0(c, ".txt")), useBytes = TRUE)
    writeLines(class(x), file.path(f[1], paste0(c, ".type")))
  }
}
