module github.com/tailorhq/tailor

go 1.26
