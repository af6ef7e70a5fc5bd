// Package edge is what privatevideo's servers share around the middleware:
// the JSON video API that hands out one-time links (API), the catalogue of
// videos and their visibility (Catalogue), and opening the token and video
// state stores from an operator's spec (memory, redis://…, postgres://…;
// OpenStores).
//
// The edge server (the example module) and the Caddy module (the caddy
// module) are built from it, so that both answer /videos alike:
//
//	stores, err := edge.OpenStores(ctx, spec, time.Second, log)
//	cat := edge.NewOpenCatalogue(stores.Videos, time.Second, log)
//	mw, err := privatevideo.New(keys, privatevideo.WithStore(stores.Tokens), privatevideo.WithPublic(cat.IsPublic))
//	api, err := edge.NewAPI(edge.APIConfig{Catalogue: cat, Middleware: mw, Tokens: stores.Tokens, APIKey: key})
//	// route /videos… (IsAPIPath) to api, /vod/… to mw.Handler(media)
//
// Nothing here logs a key or a token: tokens appear redacted (Scrub).
package edge
