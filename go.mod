module github.com/privatevideo/privatevideo

go 1.26.8

require (
	github.com/gorilla/securecookie v1.1.2
	github.com/hashicorp/golang-lru/v2 v2.0.7
)
