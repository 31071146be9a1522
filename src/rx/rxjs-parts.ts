// The rxjs values the parser entry uses, each from its own module. `import ... from "rxjs"` runs rxjs's
// index, which loads all of its 223 modules: about 11 MB of RSS, and V8 then keeps a young generation
// twice the size (the surviving module objects grow it), which made 1 GB through parseMkv peak 20 MB
// higher. These three load 29. rxjs 7 exports these paths ("./internal/*" in its exports map) and its
// index re-exports these very modules, so an Observable made here is the class an app's own
// `import { Observable } from "rxjs"` sees (instanceof, pipe, types). Types are still imported from
// "rxjs", so the declarations we ship name "rxjs" only; hence the class's own name here.
export { Observable as ObservableClass } from "rxjs/internal/Observable";
export { defer } from "rxjs/internal/observable/defer";
export { filter } from "rxjs/internal/operators/filter";
