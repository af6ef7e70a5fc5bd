module github.com/privatevideo/privatevideo/bench

go 1.26.8

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/gorilla/sessions v1.4.0
	github.com/privatevideo/privatevideo v0.0.0-00010101000000-000000000000
)

require (
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
)

replace github.com/privatevideo/privatevideo => ../
