/* ane_msg.h -- every message the ANE backend sends to AppleNeuralEngine.framework, declared
 * once, with a typed wrapper per message (Objective-C, ARC).
 *
 * The framework is private: no header declares its methods, so each call goes through
 * objc_msgSend cast to the exact function type, and no compiler checks that cast.  Declaring
 * each signature once, here, means the backend's casts and the simulated framework's check of
 * its own methods (tests/objc/fake_ane.m compares every method's type encoding with this list)
 * cannot drift apart.
 *
 * ANE_MESSAGES(X): X(wrapper, kind, class, return type, selector, arity, parameter types...)
 *   kind  CLASS     a class method:     wrapper(Class receiver, args...)
 *         INSTANCE  an instance method: wrapper(id receiver, args...)
 *         INIT      [[class alloc] init...]: wrapper(Class cls, args...), returning the new object
 *   arity 0 takes the placeholder type void.  Keep each selector on one line: it is also
 *   turned into a string (#selector), where a line break would become a space.
 */
#ifndef ANETHRU_ANE_MSG_H
#define ANETHRU_ANE_MSG_H

#import <Foundation/Foundation.h>
#import <IOSurface/IOSurface.h>
#import <objc/message.h>

#include "ane/forms/ane_classes.h"

/* An NSError out-parameter, as ARC types it in a method's signature. */
typedef NSError *__autoreleasing *ane_error_out;

#define ANE_MESSAGES(X)                                                                         \
    X(ane_msg_descriptor_new, CLASS, ANE_CLASS_DESCRIPTOR, id,                                  \
      modelWithMILText:weights:optionsPlist:, 3, NSData *, NSDictionary *, id)                  \
    X(ane_msg_model_new, CLASS, ANE_CLASS_MODEL, id, inMemoryModelWithDescriptor:, 1, id)       \
    X(ane_msg_model_hex, INSTANCE, ANE_CLASS_MODEL, id, hexStringIdentifier, 0, void)           \
    X(ane_msg_model_compile, INSTANCE, ANE_CLASS_MODEL, BOOL, compileWithQoS:options:error:,    \
      3, unsigned int, NSDictionary *, ane_error_out)                                           \
    X(ane_msg_model_load, INSTANCE, ANE_CLASS_MODEL, BOOL, loadWithQoS:options:error:, 3,       \
      unsigned int, NSDictionary *, ane_error_out)                                              \
    X(ane_msg_model_evaluate, INSTANCE, ANE_CLASS_MODEL, BOOL,                                  \
      evaluateWithQoS:options:request:error:, 4, unsigned int, NSDictionary *, id, ane_error_out) \
    X(ane_msg_model_unload, INSTANCE, ANE_CLASS_MODEL, BOOL, unloadWithQoS:error:, 2,           \
      unsigned int, ane_error_out)                                                              \
    X(ane_msg_surface_object_new, CLASS, ANE_CLASS_SURFACE_OBJECT, id, objectWithIOSurface:,    \
      1, IOSurfaceRef)                                                                          \
    X(ane_msg_request_new, CLASS, ANE_CLASS_REQUEST, id,                                        \
      requestWithInputs:inputIndices:outputs:outputIndices:weightsBuffer:perfStats:procedureIndex:, \
      7, NSArray *, NSArray *, NSArray *, NSArray *, id, id, NSNumber *)                        \
    X(ane_msg_client_shared, CLASS, ANE_CLASS_CLIENT, id, sharedConnection, 0, void)            \
    X(ane_msg_client_new_restricted, INIT, ANE_CLASS_CLIENT, id,                                \
      initWithRestrictedAccessAllowed:, 1, BOOL)                                                \
    X(ane_msg_client_evaluate_realtime, INSTANCE, ANE_CLASS_CLIENT, BOOL,                       \
      evaluateRealTimeWithModel:options:request:error:, 4, id, NSDictionary *, id, ane_error_out) \
    X(ane_msg_client_evaluate_direct, INSTANCE, ANE_CLASS_CLIENT, BOOL,                         \
      doEvaluateDirectWithModel:options:request:qos:error:, 5, id, NSDictionary *, id,          \
      unsigned int, ane_error_out)

/* Parameter lists by arity: declarations, the argument names, and the bare types. */
#define ANE_PARAMS_0(a)
#define ANE_PARAMS_1(a) , a p1
#define ANE_PARAMS_2(a, b) , a p1, b p2
#define ANE_PARAMS_3(a, b, c) , a p1, b p2, c p3
#define ANE_PARAMS_4(a, b, c, d) , a p1, b p2, c p3, d p4
#define ANE_PARAMS_5(a, b, c, d, e) , a p1, b p2, c p3, d p4, e p5
#define ANE_PARAMS_7(a, b, c, d, e, f, g) , a p1, b p2, c p3, d p4, e p5, f p6, g p7
#define ANE_ARGS_0
#define ANE_ARGS_1 , p1
#define ANE_ARGS_2 , p1, p2
#define ANE_ARGS_3 , p1, p2, p3
#define ANE_ARGS_4 , p1, p2, p3, p4
#define ANE_ARGS_5 , p1, p2, p3, p4, p5
#define ANE_ARGS_7 , p1, p2, p3, p4, p5, p6, p7
#define ANE_TYPES_0(a)
#define ANE_TYPES_1(a) , a
#define ANE_TYPES_2(a, b) , a, b
#define ANE_TYPES_3(a, b, c) , a, b, c
#define ANE_TYPES_4(a, b, c, d) , a, b, c, d
#define ANE_TYPES_5(a, b, c, d, e) , a, b, c, d, e
#define ANE_TYPES_7(a, b, c, d, e, f, g) , a, b, c, d, e, f, g

#define ANE_WRAPPER_CLASS(name, ret, sel, n, ...)                                               \
    static inline ret name(Class receiver ANE_PARAMS_##n(__VA_ARGS__))                          \
    {                                                                                           \
        return ((ret(*)(Class, SEL ANE_TYPES_##n(__VA_ARGS__)))objc_msgSend)(                   \
            receiver, @selector(sel) ANE_ARGS_##n);                                             \
    }
#define ANE_WRAPPER_INSTANCE(name, ret, sel, n, ...)                                            \
    static inline ret name(id receiver ANE_PARAMS_##n(__VA_ARGS__))                             \
    {                                                                                           \
        return ((ret(*)(id, SEL ANE_TYPES_##n(__VA_ARGS__)))objc_msgSend)(                      \
            receiver, @selector(sel) ANE_ARGS_##n);                                             \
    }
/* An init method consumes its receiver and returns +1, which ARC cannot see through a cast
 * objc_msgSend: ownership is handed over explicitly (the allocated object goes in at +1, the
 * result comes back at +1), as [[cls alloc] init...] would do. */
#define ANE_WRAPPER_INIT(name, ret, sel, n, ...)                                                \
    static inline ret name(Class cls ANE_PARAMS_##n(__VA_ARGS__))                               \
    {                                                                                           \
        void *fresh = (__bridge_retained void *)[cls alloc];                                    \
        void *made = ((void *(*)(void *, SEL ANE_TYPES_##n(__VA_ARGS__)))objc_msgSend)(         \
            fresh, @selector(sel) ANE_ARGS_##n);                                                \
        return (__bridge_transfer id)made;                                                      \
    }
#define ANE_WRAPPER(name, kind, cls, ret, sel, n, ...) ANE_WRAPPER_##kind(name, ret, sel, n, __VA_ARGS__)
ANE_MESSAGES(ANE_WRAPPER)
#undef ANE_WRAPPER

/* The same list as data: for the bring-up's respondsToSelector: step and the simulated
 * framework's signature check.  Types are @encode strings. */
#define ANE_MAX_ARGS 7
typedef struct {
    int class_id;             /* ANE_CLASS_* */
    int class_method;         /* 1: +[class selector]; 0: -[class selector] */
    const char *selector;
    const char *returns;
    int nargs;
    const char *args[ANE_MAX_ARGS];
} ane_message_signature;

#define ANE_ENCODE_0(a)
#define ANE_ENCODE_1(a) @encode(a)
#define ANE_ENCODE_2(a, b) @encode(a), @encode(b)
#define ANE_ENCODE_3(a, b, c) @encode(a), @encode(b), @encode(c)
#define ANE_ENCODE_4(a, b, c, d) @encode(a), @encode(b), @encode(c), @encode(d)
#define ANE_ENCODE_5(a, b, c, d, e) @encode(a), @encode(b), @encode(c), @encode(d), @encode(e)
#define ANE_ENCODE_7(a, b, c, d, e, f, g)                                                       \
    @encode(a), @encode(b), @encode(c), @encode(d), @encode(e), @encode(f), @encode(g)
#define ANE_IS_CLASS_CLASS 1
#define ANE_IS_CLASS_INSTANCE 0
#define ANE_IS_CLASS_INIT 0
#define ANE_SIGNATURE(name, kind, cls, ret, sel, n, ...)                                        \
    {cls, ANE_IS_CLASS_##kind, #sel, @encode(ret), n, {ANE_ENCODE_##n(__VA_ARGS__)}},
__attribute__((unused)) static const ane_message_signature ane_message_signatures[] = {ANE_MESSAGES(ANE_SIGNATURE)};
#undef ANE_SIGNATURE
#define ANE_NMESSAGES ((int)(sizeof ane_message_signatures / sizeof ane_message_signatures[0]))

#endif
